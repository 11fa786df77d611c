using System.Buffers.Binary;
using Hivemind.Protocol.Identity;

namespace Hivemind.Protocol.Relays;

/// <summary>
/// A relay's signature on one chunk it serves (relay.proto, "Evidence"): Ed25519 over
/// <c>"hivemind/relay-chunk/v1\0" || u64be version || content SHA-256 || u32be chunk bytes || u32be index || SHA-256(data)</c>.
/// Signed wrong bytes are proof the relay lied; nobody but the relay can make one.
/// </summary>
public static class RelayChunkSignature
{
    /// <summary>Domain separation: a chunk signature can never be taken for a join, update, identify or manifest signature.</summary>
    private static ReadOnlySpan<byte> Domain => "hivemind/relay-chunk/v1\0"u8;

    private const int HashBytes = 32;

    public static byte[] Sign(VolunteerIdentity relay, ulong version, ReadOnlySpan<byte> contentSha256, int chunkBytes, int index, ReadOnlySpan<byte> dataSha256) =>
        relay.Sign(Message(version, contentSha256, chunkBytes, index, dataSha256));

    /// <summary>True when <paramref name="relayKey"/> signed exactly this chunk hash; false for any malformed part.</summary>
    public static bool Verify(ReadOnlySpan<byte> relayKey, ulong version, ReadOnlySpan<byte> contentSha256, int chunkBytes, int index, ReadOnlySpan<byte> dataSha256,
        ReadOnlySpan<byte> signature) =>
        contentSha256.Length == HashBytes && dataSha256.Length == HashBytes && chunkBytes > 0 && index >= 0
        && VolunteerIdentity.Verify(relayKey, Message(version, contentSha256, chunkBytes, index, dataSha256), signature);

    private static byte[] Message(ulong version, ReadOnlySpan<byte> contentSha256, int chunkBytes, int index, ReadOnlySpan<byte> dataSha256)
    {
        var message = new byte[Domain.Length + 8 + contentSha256.Length + 4 + 4 + dataSha256.Length];
        var span = message.AsSpan();
        Domain.CopyTo(span);
        span = span[Domain.Length..];
        BinaryPrimitives.WriteUInt64BigEndian(span, version);
        span = span[8..];
        contentSha256.CopyTo(span);
        span = span[contentSha256.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)chunkBytes);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)index);
        dataSha256.CopyTo(span[8..]);
        return message;
    }
}
