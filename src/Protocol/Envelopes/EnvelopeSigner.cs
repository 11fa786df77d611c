using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;

namespace Hivemind.Protocol.Envelopes;

/// <summary>Signs and verifies update envelopes over a domain-separated message, so no other signed message can pass for an update.</summary>
public static class EnvelopeSigner
{
    /// <summary>Prefix of every signed update message: <c>Domain || envelope bytes</c>.</summary>
    public static ReadOnlySpan<byte> Domain => "hivemind/update/v1\0"u8;

    public static SignedEnvelope Sign(VolunteerIdentity identity, UpdateEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(envelope);
        if (!identity.PublicKey.AsSpan().SequenceEqual(envelope.VolunteerKey))
            throw new ArgumentException($"the envelope names volunteer {envelope.VolunteerId} but the signing identity is {identity.VolunteerId}; build the envelope with identity.PublicKey.", nameof(envelope));
        byte[] bytes = EnvelopeSerializer.Serialize(envelope);
        return new SignedEnvelope(envelope, bytes, identity.Sign(SigningMessage(bytes)));
    }

    /// <summary>True when <paramref name="signature"/> is <paramref name="publicKey"/>'s signature of these envelope bytes.</summary>
    public static bool Verify(ReadOnlySpan<byte> envelopeBytes, ReadOnlySpan<byte> signature, ReadOnlySpan<byte> publicKey) =>
        VolunteerIdentity.Verify(publicKey, SigningMessage(envelopeBytes), signature);

    /// <summary>
    /// Decodes hostile envelope bytes and checks their signature against the key inside them. Throws <see cref="ProtocolException"/>:
    /// <see cref="RejectReason.Oversized"/>, <see cref="RejectReason.MalformedEnvelope"/>, <see cref="RejectReason.ProtocolMismatch"/>
    /// or <see cref="RejectReason.BadSignature"/>. The caller still checks that the key is the session's (<see cref="RejectReason.VolunteerMismatch"/>).
    /// </summary>
    public static SignedEnvelope Open(ReadOnlyMemory<byte> envelopeBytes, ReadOnlyMemory<byte> signature, ProtocolLimits? limits = null)
    {
        var envelope = EnvelopeSerializer.Deserialize(envelopeBytes, limits);
        if (!ProtocolVersion.IsSupported(envelope.ProtocolVersion))
            throw new ProtocolException(RejectReason.ProtocolMismatch, $"the envelope is protocol version {envelope.ProtocolVersion}; this coordinator speaks {ProtocolVersion.Minimum}..{ProtocolVersion.Current}");
        if (signature.Length != VolunteerIdentity.SignatureBytes)
            throw new ProtocolException(RejectReason.BadSignature, $"the signature has {signature.Length} bytes; an Ed25519 signature has {VolunteerIdentity.SignatureBytes}");
        if (!Verify(envelopeBytes.Span, signature.Span, envelope.VolunteerKey))
            throw new ProtocolException(RejectReason.BadSignature, $"the signature on work unit '{envelope.WorkUnitId}' does not verify with volunteer key {envelope.VolunteerId}");
        return new SignedEnvelope(envelope, envelopeBytes.ToArray(), signature.ToArray());
    }

    private static byte[] SigningMessage(ReadOnlySpan<byte> envelopeBytes)
    {
        var message = new byte[Domain.Length + envelopeBytes.Length];
        Domain.CopyTo(message);
        envelopeBytes.CopyTo(message.AsSpan(Domain.Length));
        return message;
    }
}
