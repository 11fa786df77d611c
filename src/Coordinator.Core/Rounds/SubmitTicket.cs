using Hivemind.Protocol.Envelopes;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// A submission whose envelope passed every check (signature, session, lease, round, codec, token count, exact payload length):
/// the payload may now be read, up to <see cref="ExpectedLength"/> bytes. Holds the unit's single in-flight slot and its share of
/// the global receive budget until disposed. <see cref="AlreadyAccepted"/> is set instead when the same signed update was accepted
/// before: the reply is the same and no payload byte needs to be read.
/// </summary>
public sealed class SubmitTicket : IDisposable
{
    private readonly Action<SubmitTicket>? _release;
    private int _released;

    internal SubmitTicket(UpdateEnvelope envelope, byte[] envelopeBytes, byte[] signature, string volunteerId, string workUnitId, ShardSpec shard,
        long expectedLength, long? alreadyAccepted, Action<SubmitTicket>? release)
    {
        Envelope = envelope;
        EnvelopeBytes = envelopeBytes;
        Signature = signature;
        VolunteerId = volunteerId;
        WorkUnitId = workUnitId;
        Shard = shard;
        ExpectedLength = expectedLength;
        AlreadyAccepted = alreadyAccepted;
        _release = release;
    }

    public UpdateEnvelope Envelope { get; }

    public byte[] EnvelopeBytes { get; }

    public byte[] Signature { get; }

    public string VolunteerId { get; }

    public string WorkUnitId { get; }

    public ShardSpec Shard { get; }

    /// <summary>The exact payload length for the leased shard in the unit's codec (the coordinator's number, equal to the envelope's).</summary>
    public long ExpectedLength { get; }

    /// <summary>The ledger sequence of the identical update accepted earlier, or null for a new submission.</summary>
    public long? AlreadyAccepted { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) _release?.Invoke(this);
    }
}
