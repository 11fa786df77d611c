using System.Buffers.Binary;
using System.Text;

namespace Hivemind.Protocol.Identity;

/// <summary>The exact bytes a volunteer signs to join, so a Join signature can never be mistaken for an update signature.</summary>
public static class JoinChallenge
{
    /// <summary>Domain-separation prefix of the join message.</summary>
    public static ReadOnlySpan<byte> Domain => "hivemind/join/v1\0"u8;

    /// <summary>Length of the nonce a coordinator issues.</summary>
    public const int NonceBytes = 32;

    /// <summary>
    /// <c>Domain || u32be protocolVersion || runId (16) || publicKey || nonce || u64be declaredMemoryBytes || UTF-8 device || 0x00 || UTF-8 admissionToken</c>.
    /// The run id makes a join signed for one coordinator (or one run of it) worthless at any other.
    /// </summary>
    public static byte[] BuildMessage(uint protocolVersion, ReadOnlySpan<byte> runId, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> nonce, ulong declaredMemoryBytes, string device, string admissionToken)
    {
        if (runId.Length != RunId.Bytes)
            throw new ArgumentException($"a run id has {RunId.Bytes} bytes, got {runId.Length}; take it from ChallengeReply.run_id.", nameof(runId));
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(admissionToken);
        if (publicKey.Length != VolunteerIdentity.PublicKeyBytes)
            throw new ArgumentException($"an Ed25519 public key has {VolunteerIdentity.PublicKeyBytes} bytes, got {publicKey.Length}.", nameof(publicKey));
        if (nonce.Length != NonceBytes)
            throw new ArgumentException($"a join nonce has {NonceBytes} bytes, got {nonce.Length}.", nameof(nonce));
        // The NUL separates device from token; a NUL inside the device would make two messages collide.
        if (device.Contains('\0'))
            throw new ArgumentException("the device name contains a NUL character; use a plain name such as 'cpu' or 'cuda:0'.", nameof(device));

        int deviceBytes = Encoding.UTF8.GetByteCount(device);
        int tokenBytes = Encoding.UTF8.GetByteCount(admissionToken);
        var message = new byte[Domain.Length + 4 + RunId.Bytes + publicKey.Length + nonce.Length + 8 + deviceBytes + 1 + tokenBytes];
        var span = message.AsSpan();
        Domain.CopyTo(span);
        span = span[Domain.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(span, protocolVersion);
        span = span[4..];
        runId.CopyTo(span);
        span = span[RunId.Bytes..];
        publicKey.CopyTo(span);
        span = span[publicKey.Length..];
        nonce.CopyTo(span);
        span = span[nonce.Length..];
        BinaryPrimitives.WriteUInt64BigEndian(span, declaredMemoryBytes);
        span = span[8..];
        span = span[Encoding.UTF8.GetBytes(device, span)..];
        span[0] = 0;
        Encoding.UTF8.GetBytes(admissionToken, span[1..]);
        return message;
    }

    public static byte[] Sign(VolunteerIdentity identity, uint protocolVersion, ReadOnlySpan<byte> runId, ReadOnlySpan<byte> nonce, ulong declaredMemoryBytes, string device, string admissionToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return identity.Sign(BuildMessage(protocolVersion, runId, identity.PublicKey, nonce, declaredMemoryBytes, device, admissionToken));
    }

    public static bool Verify(ReadOnlySpan<byte> signature, uint protocolVersion, ReadOnlySpan<byte> runId, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> nonce, ulong declaredMemoryBytes, string device, string admissionToken)
    {
        if (runId.Length != RunId.Bytes || publicKey.Length != VolunteerIdentity.PublicKeyBytes || nonce.Length != NonceBytes || device.Contains('\0')) return false;
        return VolunteerIdentity.Verify(publicKey, BuildMessage(protocolVersion, runId, publicKey, nonce, declaredMemoryBytes, device, admissionToken), signature);
    }
}
