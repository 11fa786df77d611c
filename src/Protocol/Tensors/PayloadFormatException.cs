using Hivemind.Protocol.Errors;

namespace Hivemind.Protocol.Tensors;

/// <summary>A tensor payload failed to decode; <see cref="Error"/> says how, <see cref="Reason"/> is the matching rejection.</summary>
public sealed class PayloadFormatException : Exception
{
    public PayloadFormatException(PayloadError error, string message, Exception? inner = null)
        : base(message, inner) => Error = error;

    public PayloadError Error { get; }

    /// <summary>The rejection a coordinator reports for this error.</summary>
    public RejectReason Reason => Error switch
    {
        PayloadError.Oversized => RejectReason.Oversized,
        PayloadError.UnknownCodec => RejectReason.WrongCodec,
        PayloadError.NonFiniteScale => RejectReason.NonFinite,
        _ => RejectReason.MalformedPayload,
    };

    public ProtocolException ToProtocolException() => new(Reason, Message, this);
}
