namespace Hivemind.Data;

/// <summary>
/// Writes outputs under a ".partial" name and moves them into place only when the whole job succeeded, so a
/// corrupt input or a full disk never leaves a truncated archive or token file behind.
/// </summary>
internal static class PartialOutput
{
    /// <summary>Suffix of a file still being written.</summary>
    public const string Suffix = ".partial";

    /// <summary>Runs <paramref name="write"/> on the partial paths of <paramref name="outputs"/>, then commits or deletes them all.</summary>
    public static T Write<T>(IReadOnlyList<string> outputs, Func<string[], T> write)
    {
        string[] partials = outputs.Select(o => o + Suffix).ToArray();
        T result;
        try
        {
            result = write(partials);
        }
        catch
        {
            foreach (string p in partials) File.Delete(p);
            throw;
        }
        for (int i = 0; i < partials.Length; i++) File.Move(partials[i], outputs[i], overwrite: true);
        return result;
    }
}
