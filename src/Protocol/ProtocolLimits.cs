namespace Hivemind.Protocol;

/// <summary>Size limits enforced on everything a peer sends; each is checked before memory is allocated for it.</summary>
public sealed record ProtocolLimits
{
    /// <summary>Chunk size senders use: well under gRPC's default 4 MiB message limit, large enough that per-message overhead is negligible.</summary>
    public const int DefaultChunkBytes = 1 << 20;

    public static ProtocolLimits Default { get; } = new();

    /// <summary>Largest data chunk accepted in one stream message.</summary>
    public int MaxChunkBytes { get; init; } = 2 << 20;

    /// <summary>Largest serialized update envelope (it holds ids, hashes and the shard list, never tensors).</summary>
    public int MaxEnvelopeBytes { get; init; } = 64 << 10;

    /// <summary>Largest update payload (encoded tensors) a volunteer may submit.</summary>
    public long MaxUpdateBytes { get; init; } = 1L << 30;

    /// <summary>Largest parameter download a volunteer accepts.</summary>
    public long MaxDownloadBytes { get; init; } = 4L << 30;

    /// <summary>Most tensors in one payload.</summary>
    public int MaxTensorCount { get; init; } = 1 << 16;

    /// <summary>Longest tensor name, in UTF-8 bytes.</summary>
    public int MaxTensorNameBytes { get; init; } = 512;

    /// <summary>Most dimensions of one tensor.</summary>
    public int MaxTensorRank { get; init; } = 8;

    /// <summary>Longest work unit id, in characters.</summary>
    public int MaxWorkUnitIdLength { get; init; } = 128;

    /// <summary>Longest session token accepted in a request (issued tokens are 64 hex characters).</summary>
    public int MaxSessionTokenLength { get; init; } = 128;

    /// <summary>Longest <c>device</c> a join may declare, in characters.</summary>
    public int MaxDeviceLength { get; init; } = 64;

    /// <summary>Longest <c>client_name</c> a join may declare, in characters.</summary>
    public int MaxClientNameLength { get; init; } = 128;

    /// <summary>Most experts listed in one shard.</summary>
    public int MaxShardExperts { get; init; } = 1 << 14;
}
