namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>
/// One round as the dashboard shows it. Updates, losses and times come from the store; skipped groups and the
/// aggregation and close durations only for rounds closed since this coordinator process started (null otherwise).
/// </summary>
public sealed record RoundView(
    long Round,
    long Version,
    DateTimeOffset OpenedAt,
    DateTimeOffset? ClosedAt,
    long Updates,
    long Tokens,
    double? TrainLoss,
    double? EvalLoss,
    int? SkippedGroups,
    int? UnderReplicatedGroups,
    double? AggregationSeconds,
    double? CloseSeconds,
    long Rejections);
