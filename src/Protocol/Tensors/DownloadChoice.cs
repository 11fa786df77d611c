namespace Hivemind.Protocol.Tensors;

/// <summary>
/// Steps or the full shard (issue 16): a volunteer that holds an older version (a downloaded one, or θ_0 rebuilt from the seed) gets the
/// steps since only when all are kept and they are fewer bytes than the full download it would get instead. The coordinator applies it
/// to the bytes it would send; the simulator's byte model sizes downloads by the same rule.
/// </summary>
public static class DownloadChoice
{
    /// <summary>Whether to send the steps (<paramref name="stepsBytes"/>; null when one of them is no longer kept) rather than the full download.</summary>
    public static bool SendSteps(double? stepsBytes, double fullBytes) => stepsBytes is { } steps && steps < fullBytes;

    /// <summary>The bytes the download costs under the rule.</summary>
    public static double Bytes(double? stepsBytes, double fullBytes) => SendSteps(stepsBytes, fullBytes) ? stepsBytes!.Value : fullBytes;
}
