using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>What a volunteer is asked to do: train this shard at this version on this data, by the deadline.</summary>
public sealed record WorkUnit(
    string Id,
    long Round,
    long Version,
    string Preset,
    ModelConfig Model,
    ShardSpec Shard,
    DataSpec Data,
    LocalTrainingOptions Training,
    PayloadCodec Codec,
    DateTimeOffset Deadline)
{
    /// <summary>The coordinator run the unit belongs to; the volunteer signs it into the update envelope.</summary>
    public byte[] RunId { get; init; } = [];

    /// <summary>Values kept per block when <see cref="Codec"/> is a top-k codec; 0 otherwise.</summary>
    public int KeptPerBlock { get; init; }

    /// <summary>The update codec with its parameter.</summary>
    public CodecSettings CodecSettings => new(Codec, KeptPerBlock);

    /// <summary>Eager units only: the volunteer's own accepted unit of round <see cref="Version"/>; the unit starts from <see cref="Protocol.Tensors.EagerBase"/>.</summary>
    public string? BaseUnitId { get; init; }

    /// <summary>The seed θ_0 is rebuilt from (ModelInit), so a newcomer holds version 0 without downloading it; null when the coordinator does not offer it.</summary>
    public long? InitSeed { get; init; }
}

/// <summary>The answer to a work request: a unit, or when to ask again and why.</summary>
public sealed record WorkDecision(WorkUnit? Unit, TimeSpan RetryAfter, string Reason)
{
    public static WorkDecision Work(WorkUnit unit) => new(unit, TimeSpan.Zero, "");

    public static WorkDecision Wait(TimeSpan retryAfter, string reason) => new(null, retryAfter, reason);
}

/// <summary>An update as received: the signed envelope and the payload already streamed to disk and hashed.</summary>
public sealed record SubmittedUpdate(byte[] Envelope, byte[] Signature, string PayloadPath, long PayloadLength, byte[] PayloadSha256, string? SessionVolunteerId = null);

/// <summary>The result of closing a round.</summary>
public sealed record RoundSummary(long Round, long NewVersion, int Updates, double MeanTrainLoss, double? EvalLoss, int SkippedGroups, TimeSpan AggregationTime)
{
    /// <summary>From the decision to close to the new version being durable and served (aggregation, outer step, checkpoint, ledger).</summary>
    public TimeSpan PublishTime { get; init; }

    /// <summary>Expert groups updated by fewer holders than the configured replication this round.</summary>
    public int UnderReplicatedGroups { get; init; }

    /// <summary>Groups left unchanged this round and why (too few holders for the rule), as written in the round log.</summary>
    public IReadOnlyList<string> SkippedGroupNames { get; init; } = [];
}

/// <summary>What the coordinator is doing: round, volunteers active in the last 30 s, leases, ledger size, rejections, loss and traffic.</summary>
public sealed record EngineStatus(
    long Round, int Volunteers, int LeasedUnits, int AcceptedThisRound, long AcceptedUpdates,
    IReadOnlyDictionary<string, long> Rejections, double? LastEvalLoss, long BytesReceived, long BytesSent);
