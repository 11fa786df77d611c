namespace Hivemind.Protocol.Relays;

/// <summary>A relay's answer to one chunk request: the bytes, a refusal with its reason, or "over the upload cap, retry after".</summary>
public sealed record RelayServeResult(byte[]? Chunk, string? Refusal, TimeSpan RetryAfter)
{
    public static RelayServeResult Served(byte[] chunk) => new(chunk, null, TimeSpan.Zero);
    public static RelayServeResult Refused(string why) => new(null, why, TimeSpan.Zero);
    public static RelayServeResult Busy(TimeSpan retryAfter) => new(null, $"over the relay's upload cap; retry in {retryAfter.TotalMilliseconds:0} ms", retryAfter);
}
