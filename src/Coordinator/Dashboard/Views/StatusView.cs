namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>The dashboard's headline numbers (<c>GET /api/status</c>).</summary>
public sealed record StatusView(
    string Preset,
    long Round,
    long Version,
    long? MaxRounds,
    double? LastEvalLoss,
    double? OptimalLoss,
    double TokensPerSecond,
    int ActiveVolunteers,
    int LeasedWorkUnits,
    int Volunteers,
    int BannedVolunteers,
    long AcceptedUpdates,
    long RejectedUpdates,
    IReadOnlyDictionary<string, long> RejectionsByReason,
    long AcceptedPayloadBytes,
    long BytesReceived,
    long BytesSent,
    long CreditedTokens,
    long SnapshotSequence,
    DateTimeOffset SnapshotAt,
    DateTimeOffset ActivitySince);
