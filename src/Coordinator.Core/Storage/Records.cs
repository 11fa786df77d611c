namespace Hivemind.Coordinator.Storage;

/// <summary>A volunteer as stored: its key, what it declared, its standing.</summary>
public sealed record VolunteerRecord(string Id, byte[] PublicKey, string Device, long MemoryBytes, long JoinedAtMs)
{
    public double Reputation { get; init; }

    public bool Banned { get; init; }

    public string? BanReason { get; init; }
}

/// <summary>A leased work unit. State is leased, completed or expired.</summary>
public sealed record WorkUnitRecord(string Id, long Round, long Version, string VolunteerId, string Shard, int UnitIndex, long IssuedAtMs, long DeadlineMs, string State)
{
    /// <summary>Eager units only: the volunteer's own accepted unit of round <see cref="Version"/> whose update the unit starts from (issue 16).</summary>
    public string? BaseUnitId { get; init; }
}

/// <summary>One row of the accepted-update ledger; the payload lives in a file beside the store.</summary>
public sealed record UpdateRecord(
    string WorkUnitId, string VolunteerId, long Round, long Version, byte[] Envelope, byte[] Signature,
    string PayloadPath, long PayloadBytes, long Tokens, double Loss, long AcceptedAtMs)
{
    public long Sequence { get; init; }
}

/// <summary>One training round: the version it trained from and what came of it.</summary>
public sealed record RoundRecord(long Round, long Version, long OpenedAtMs, long? ClosedAtMs, long Updates, double? TrainLoss, double? EvalLoss, string? Checkpoint);
