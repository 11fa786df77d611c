using System.Security.Cryptography;

namespace Hivemind.Protocol.Ledger;

/// <summary>RFC 9162 §2.1.1 hashing: leaves and interior nodes are domain-separated so a leaf can never pass for a node.</summary>
public static class MerkleHash
{
    /// <summary>SHA-256 output length in bytes.</summary>
    public const int Size = 32;

    private const byte LeafPrefix = 0x00;
    private const byte NodePrefix = 0x01;

    /// <summary>MTH of the empty tree: SHA-256 of the empty string.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>SHA-256(0x00 || entry).</summary>
    public static byte[] Leaf(ReadOnlySpan<byte> entry)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData([LeafPrefix]);
        hash.AppendData(entry);
        return hash.GetHashAndReset();
    }

    /// <summary>SHA-256(0x01 || left || right).</summary>
    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + 2 * Size];
        buffer[0] = NodePrefix;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + Size)..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>The largest power of two strictly smaller than <paramref name="n"/> (n ≥ 2): RFC 9162's split point.</summary>
    public static long Split(long n)
    {
        if (n < 2) throw new ArgumentOutOfRangeException(nameof(n), n, "a tree of fewer than 2 leaves has no split");
        long k = 1;
        while (k << 1 < n) k <<= 1;
        return k;
    }
}
