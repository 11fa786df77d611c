namespace Hivemind.Protocol.Streaming;

/// <summary>Splits a payload into consecutive chunks for a gRPC stream.</summary>
public static class PayloadChunker
{
    /// <summary>Consecutive slices of at most <paramref name="chunkBytes"/>; an empty payload yields no chunk.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Split(ReadOnlyMemory<byte> payload, int chunkBytes = ProtocolLimits.DefaultChunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        for (int start = 0; start < payload.Length; start += chunkBytes)
            yield return payload.Slice(start, Math.Min(chunkBytes, payload.Length - start));
    }

    public static int ChunkCount(long payloadBytes, int chunkBytes = ProtocolLimits.DefaultChunkBytes) =>
        checked((int)((payloadBytes + chunkBytes - 1) / chunkBytes));
}
