namespace Hivemind.Protocol.Errors;

/// <summary>A peer's input failed a protocol check; <see cref="Reason"/> says which, <see cref="Detail"/> names the bad value.</summary>
public sealed class ProtocolException : Exception
{
    public ProtocolException(RejectReason reason, string detail, Exception? inner = null)
        : base(RejectReasons.Message(reason, detail), inner)
    {
        Reason = reason;
        Detail = detail;
    }

    public RejectReason Reason { get; }

    /// <summary>What was wrong and with which value, without the fix (the message adds it).</summary>
    public string Detail { get; }
}
