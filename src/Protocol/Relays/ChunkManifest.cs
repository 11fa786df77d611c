using System.Buffers.Binary;
using System.Security.Cryptography;
using Hivemind.Protocol.Identity;

namespace Hivemind.Protocol.Relays;

/// <summary>
/// The coordinator's signed list of SHA-256 hashes, one per chunk of a model version's parameter payload. A downloader checks every
/// chunk a relay sends against it, so a relay can waste a retry but never change a byte. Signed bytes:
/// <c>"hivemind/manifest/v1\0" || u64be version || u64be total bytes || u32be chunk bytes || u32be chunk count || hashes</c>.
/// </summary>
public sealed class ChunkManifest
{
    /// <summary>Domain-separation prefix, so a manifest signature can never be taken for another signed message.</summary>
    public static ReadOnlySpan<byte> Domain => "hivemind/manifest/v1\0"u8;

    public const int HashBytes = 32;

    private readonly byte[][] _hashes;

    private ChunkManifest(ulong version, long totalBytes, int chunkBytes, byte[][] hashes, byte[] coordinatorKey, byte[] signature)
    {
        Version = version;
        TotalBytes = totalBytes;
        ChunkBytes = chunkBytes;
        _hashes = hashes;
        CoordinatorKey = coordinatorKey;
        Signature = signature;
    }

    public ulong Version { get; }
    public long TotalBytes { get; }
    public int ChunkBytes { get; }
    public int ChunkCount => _hashes.Length;
    public byte[] CoordinatorKey { get; }
    public byte[] Signature { get; }

    /// <summary>Chunks the payload, hashes each chunk and signs the list with the coordinator's key.</summary>
    public static ChunkManifest Create(VolunteerIdentity coordinator, ulong version, ReadOnlySpan<byte> payload, int chunkBytes)
    {
        if (chunkBytes < 1 || chunkBytes > ProtocolLimits.Default.MaxChunkBytes)
            throw new ArgumentException($"chunk size {chunkBytes} out of range: give 1..{ProtocolLimits.Default.MaxChunkBytes} bytes.", nameof(chunkBytes));
        var count = (int)((payload.Length + (long)chunkBytes - 1) / chunkBytes);
        var hashes = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var start = i * chunkBytes;
            hashes[i] = SHA256.HashData(payload.Slice(start, Math.Min(chunkBytes, payload.Length - start)));
        }
        var signature = coordinator.Sign(SignedBytes(version, payload.Length, chunkBytes, hashes));
        return new ChunkManifest(version, payload.Length, chunkBytes, hashes, coordinator.PublicKey, signature);
    }

    /// <summary>A manifest received from elsewhere; <see cref="VerifySignature"/> must pass before it is used.</summary>
    public static ChunkManifest FromParts(ulong version, long totalBytes, int chunkBytes, IReadOnlyList<byte[]> hashes, byte[] coordinatorKey, byte[] signature)
    {
        if (totalBytes < 0 || chunkBytes < 1 || chunkBytes > ProtocolLimits.Default.MaxChunkBytes)
            throw new ArgumentException($"manifest sizes out of range: total {totalBytes}, chunk {chunkBytes} (chunks are 1..{ProtocolLimits.Default.MaxChunkBytes} bytes).");
        if ((totalBytes + chunkBytes - 1) / chunkBytes != hashes.Count)
            throw new ArgumentException($"manifest lists {hashes.Count} hashes for {totalBytes} bytes in chunks of {chunkBytes}; expected {(totalBytes + chunkBytes - 1) / chunkBytes}.");
        if (hashes.Any(h => h.Length != HashBytes))
            throw new ArgumentException($"every manifest hash is a {HashBytes}-byte SHA-256.");
        return new ChunkManifest(version, totalBytes, chunkBytes, [.. hashes.Select(h => h.ToArray())], coordinatorKey.ToArray(), signature.ToArray());
    }

    /// <summary>True when the coordinator whose key the downloader already trusts signed exactly this manifest.</summary>
    public bool VerifySignature(ReadOnlySpan<byte> trustedCoordinatorKey) =>
        trustedCoordinatorKey.SequenceEqual(CoordinatorKey)
        && VolunteerIdentity.Verify(CoordinatorKey, SignedBytes(Version, TotalBytes, ChunkBytes, _hashes), Signature);

    /// <summary>The SHA-256 chunk <paramref name="index"/> must have (a copy).</summary>
    public byte[] HashOf(int index)
    {
        if (index < 0 || index >= ChunkCount) throw new ArgumentOutOfRangeException(nameof(index), index, $"the manifest has chunks 0..{ChunkCount - 1}.");
        return _hashes[index].ToArray();
    }

    /// <summary>The length chunk <paramref name="index"/> must have (the last one may be short).</summary>
    public int ChunkLength(int index)
    {
        if (index < 0 || index >= ChunkCount) throw new ArgumentOutOfRangeException(nameof(index), index, $"the manifest has chunks 0..{ChunkCount - 1}.");
        return (int)Math.Min(ChunkBytes, TotalBytes - (long)index * ChunkBytes);
    }

    /// <summary>True when <paramref name="data"/> is exactly chunk <paramref name="index"/>.</summary>
    public bool Matches(int index, ReadOnlySpan<byte> data) =>
        data.Length == ChunkLength(index) && SHA256.HashData(data).AsSpan().SequenceEqual(_hashes[index]);

    private static byte[] SignedBytes(ulong version, long totalBytes, int chunkBytes, byte[][] hashes)
    {
        var bytes = new byte[Domain.Length + 8 + 8 + 4 + 4 + hashes.Length * HashBytes];
        var span = bytes.AsSpan();
        Domain.CopyTo(span);
        span = span[Domain.Length..];
        BinaryPrimitives.WriteUInt64BigEndian(span, version);
        BinaryPrimitives.WriteUInt64BigEndian(span[8..], (ulong)totalBytes);
        BinaryPrimitives.WriteUInt32BigEndian(span[16..], (uint)chunkBytes);
        BinaryPrimitives.WriteUInt32BigEndian(span[20..], (uint)hashes.Length);
        span = span[24..];
        foreach (var h in hashes)
        {
            h.CopyTo(span);
            span = span[HashBytes..];
        }
        return bytes;
    }
}
