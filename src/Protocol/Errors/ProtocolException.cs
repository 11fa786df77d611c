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

    /// <summary>A rejection that tells the client when to come back (overload): sent as the <c>hivemind-retry-after-ms</c> trailer.</summary>
    public ProtocolException(RejectReason reason, string detail, TimeSpan retryAfter)
        : this(reason, detail)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>When the client should try again, if the coordinator said so.</summary>
    public TimeSpan? RetryAfter { get; }

    public RejectReason Reason { get; }

    /// <summary>What was wrong and with which value, without the fix (the message adds it).</summary>
    public string Detail { get; }
}
