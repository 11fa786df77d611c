using System.Buffers.Binary;
using Hivemind.Protocol.Identity;

namespace Hivemind.Protocol.Ledger;

/// <summary>
/// A signed tree head: the coordinator's Ed25519 signature over
/// <c>"hivemind/tree-head/v1\0" || u64 tree_size || i64 timestamp_unix_ms || root_hash (32)</c> (big-endian).
/// Two valid heads whose trees are not one a prefix of the other prove the coordinator forked its log.
/// </summary>
public sealed record TreeHead(long TreeSize, byte[] RootHash, long TimestampUnixMs, byte[] Signature, byte[] PublicKey)
{
    /// <summary>Prefix of the signed message, so no other signed message can pass for a tree head.</summary>
    public static ReadOnlySpan<byte> Domain => "hivemind/tree-head/v1\0"u8;

    public static TreeHead Sign(VolunteerIdentity key, long treeSize, byte[] rootHash, long timestampUnixMs) =>
        new(treeSize, rootHash, timestampUnixMs, key.Sign(SigningMessage(treeSize, rootHash, timestampUnixMs)), key.PublicKey);

    /// <summary>True when the signature verifies with <paramref name="publicKey"/> (the key the verifier trusts, not the one the head names).</summary>
    public bool VerifySignature(ReadOnlySpan<byte> publicKey) =>
        TreeSize >= 0 && RootHash.Length == MerkleHash.Size && VolunteerIdentity.Verify(publicKey, SigningMessage(TreeSize, RootHash, TimestampUnixMs), Signature);

    /// <summary>A coordinator key written as 64 hex digits (as <c>serve</c> logs it), or null when <paramref name="hex"/> is not one.</summary>
    public static byte[]? ParseKey(string hex)
    {
        try
        {
            byte[] key = Convert.FromHexString(hex);
            return key.Length == VolunteerIdentity.PublicKeyBytes ? key : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static byte[] SigningMessage(long treeSize, ReadOnlySpan<byte> rootHash, long timestampUnixMs)
    {
        var message = new byte[Domain.Length + 16 + rootHash.Length];
        Domain.CopyTo(message);
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(Domain.Length), (ulong)treeSize);
        BinaryPrimitives.WriteInt64BigEndian(message.AsSpan(Domain.Length + 8), timestampUnixMs);
        rootHash.CopyTo(message.AsSpan(Domain.Length + 16));
        return message;
    }

    public override string ToString() => $"size {TreeSize} root {Convert.ToHexString(RootHash).ToLowerInvariant()}";
}
