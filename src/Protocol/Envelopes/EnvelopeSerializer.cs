using Hivemind.Protocol.Errors;
using MessagePack;

namespace Hivemind.Protocol.Envelopes;

/// <summary>Turns an <see cref="UpdateEnvelope"/> into its canonical MessagePack bytes and back, treating input as hostile.</summary>
public static class EnvelopeSerializer
{
    /// <summary>The envelope nests at most envelope → expert list → expert; a little slack, no more.</summary>
    private const int MaxObjectGraphDepth = 8;

    private static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MaxObjectGraphDepth));

    public static byte[] Serialize(UpdateEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return MessagePackSerializer.Serialize(envelope, Options);
    }

    /// <summary>
    /// Decodes <paramref name="bytes"/>; throws <see cref="ProtocolException"/> with <see cref="RejectReason.Oversized"/> above the limit,
    /// or <see cref="RejectReason.MalformedEnvelope"/> for anything that is not exactly the canonical encoding of a valid envelope.
    /// </summary>
    public static UpdateEnvelope Deserialize(ReadOnlyMemory<byte> bytes, ProtocolLimits? limits = null)
    {
        limits ??= ProtocolLimits.Default;
        if (bytes.Length > limits.MaxEnvelopeBytes)
            throw new ProtocolException(RejectReason.Oversized, $"the envelope has {bytes.Length} bytes, above the limit of {limits.MaxEnvelopeBytes}");
        if (bytes.IsEmpty)
            throw new ProtocolException(RejectReason.MalformedEnvelope, "the envelope is empty");

        UpdateEnvelope envelope;
        int read;
        try
        {
            envelope = MessagePackSerializer.Deserialize<UpdateEnvelope>(bytes, Options, out read);
        }
        catch (MessagePackSerializationException e)
        {
            throw new ProtocolException(RejectReason.MalformedEnvelope, $"the {bytes.Length}-byte envelope does not decode ({Innermost(e).Message})", e);
        }
        if (envelope is null)
            throw new ProtocolException(RejectReason.MalformedEnvelope, "the envelope is MessagePack nil");
        if (read != bytes.Length)
            throw new ProtocolException(RejectReason.MalformedEnvelope, $"the envelope has {bytes.Length - read} trailing bytes after its {read}-byte body");
        // Signatures and replay checks are over bytes: accept only the one encoding we would produce ourselves.
        if (!Serialize(envelope).AsSpan().SequenceEqual(bytes.Span))
            throw new ProtocolException(RejectReason.MalformedEnvelope, "the envelope is not in canonical form (non-minimal integers, unsorted shard, or extra fields)");
        return envelope;
    }

    private static Exception Innermost(Exception e)
    {
        // Bounded: exception chains are short, but never trust a loop without an exit.
        for (int i = 0; i < 16 && e.InnerException is not null; i++) e = e.InnerException;
        return e;
    }
}
