using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using MessagePack;

namespace Hivemind.Protocol.Envelopes;

/// <summary>What a volunteer signs about one update: who, for which work unit, round, version and shard, and the payload's length and hash.</summary>
/// <remarks>Serialized by <see cref="EnvelopeSerializer"/> as a MessagePack array (keys 0..12), canonical so equal envelopes have equal bytes.</remarks>
[MessagePackObject]
public sealed class UpdateEnvelope
{
    /// <summary>SHA-256 length in bytes.</summary>
    public const int HashBytes = 32;

    [SerializationConstructor]
    public UpdateEnvelope(
        uint protocolVersion,
        byte[] volunteerKey,
        string workUnitId,
        ulong round,
        ulong modelVersion,
        IReadOnlyList<ExpertKey> experts,
        bool includesTrunk,
        PayloadCodec codec,
        ulong payloadLength,
        byte[] payloadSha256,
        ulong tokens,
        double meanLoss,
        byte[] runId)
    {
        ArgumentNullException.ThrowIfNull(volunteerKey);
        ArgumentNullException.ThrowIfNull(workUnitId);
        ArgumentNullException.ThrowIfNull(experts);
        ArgumentNullException.ThrowIfNull(payloadSha256);
        ArgumentNullException.ThrowIfNull(runId);
        if (volunteerKey.Length != VolunteerIdentity.PublicKeyBytes)
            throw new ArgumentException($"the volunteer key has {volunteerKey.Length} bytes; an Ed25519 public key has {VolunteerIdentity.PublicKeyBytes}.", nameof(volunteerKey));
        if (workUnitId.Length == 0 || workUnitId.Length > ProtocolLimits.Default.MaxWorkUnitIdLength)
            throw new ArgumentException($"the work unit id has {workUnitId.Length} characters; it must have 1..{ProtocolLimits.Default.MaxWorkUnitIdLength}.", nameof(workUnitId));
        if (experts.Count > ProtocolLimits.Default.MaxShardExperts)
            throw new ArgumentException($"the shard lists {experts.Count} experts, more than the limit {ProtocolLimits.Default.MaxShardExperts}.", nameof(experts));
        if (!Enum.IsDefined(codec))
            throw new ArgumentException($"codec {(byte)codec} is not one of {string.Join(", ", Enum.GetNames<PayloadCodec>())}.", nameof(codec));
        if (payloadSha256.Length != HashBytes)
            throw new ArgumentException($"the payload hash has {payloadSha256.Length} bytes; a SHA-256 has {HashBytes}.", nameof(payloadSha256));
        if (runId.Length != Identity.RunId.Bytes)
            throw new ArgumentException($"the run id has {runId.Length} bytes; it has {Identity.RunId.Bytes} (take it from JoinReply.run_id or WorkUnit.run_id).", nameof(runId));

        // Sorted so that the same shard always signs to the same bytes, whatever order the caller listed it in.
        var sorted = experts.ToArray();
        Array.Sort(sorted);
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] == sorted[i - 1])
                throw new ArgumentException($"expert {sorted[i]} is listed twice in the shard.", nameof(experts));
        }

        ProtocolVersion = protocolVersion;
        VolunteerKey = (byte[])volunteerKey.Clone();
        WorkUnitId = workUnitId;
        Round = round;
        ModelVersion = modelVersion;
        Experts = sorted;
        IncludesTrunk = includesTrunk;
        Codec = codec;
        PayloadLength = payloadLength;
        PayloadSha256 = (byte[])payloadSha256.Clone();
        Tokens = tokens;
        MeanLoss = meanLoss;
        RunId = (byte[])runId.Clone();
    }

    [Key(0)]
    public uint ProtocolVersion { get; }

    /// <summary>The volunteer's Ed25519 public key (32 bytes): its identity, and the key the signature must verify with.</summary>
    [Key(1)]
    public byte[] VolunteerKey { get; }

    [Key(2)]
    public string WorkUnitId { get; }

    [Key(3)]
    public ulong Round { get; }

    /// <summary>The model version the volunteer started training from.</summary>
    [Key(4)]
    public ulong ModelVersion { get; }

    /// <summary>Experts in the shard, sorted by (layer, expert).</summary>
    [Key(5)]
    public IReadOnlyList<ExpertKey> Experts { get; }

    [Key(6)]
    public bool IncludesTrunk { get; }

    [Key(7)]
    public PayloadCodec Codec { get; }

    [Key(8)]
    public ulong PayloadLength { get; }

    [Key(9)]
    public byte[] PayloadSha256 { get; }

    /// <summary>Training tokens of the unit; the coordinator requires exactly its own count (inner steps × batch × sequence length) and weighs by that, never by this claim.</summary>
    [Key(10)]
    public ulong Tokens { get; }

    /// <summary>Mean training loss the volunteer reports; informational, and must be finite (a diverged run has nothing to submit).</summary>
    [Key(11)]
    public double MeanLoss { get; }

    /// <summary>The coordinator run the update is for (16 bytes); any other run rejects it (<c>wrong-run</c>).</summary>
    [Key(12)]
    public byte[] RunId { get; }

    [IgnoreMember]
    public string VolunteerId => VolunteerIds.FromPublicKey(VolunteerKey);
}
