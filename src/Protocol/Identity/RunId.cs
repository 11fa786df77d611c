using System.Security.Cryptography;

namespace Hivemind.Protocol.Identity;

/// <summary>
/// A coordinator run's random id: drawn once per data directory, returned in ChallengeReply and JoinReply, and signed into every
/// join message and update envelope, so nothing signed for one run or coordinator is valid at another.
/// </summary>
public static class RunId
{
    /// <summary>Length of a run id: 128 random bits, so two runs never share one.</summary>
    public const int Bytes = 16;

    /// <summary>A fresh run id from the CSPRNG.</summary>
    public static byte[] Draw() => RandomNumberGenerator.GetBytes(Bytes);

    /// <summary>Lowercase hex, for logs and messages.</summary>
    public static string Format(ReadOnlySpan<byte> runId) => Convert.ToHexString(runId).ToLowerInvariant();
}
