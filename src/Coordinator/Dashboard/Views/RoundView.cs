namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>
/// One round as the dashboard shows it, all from the store: updates, losses and times from its rounds table; skipped and
/// under-replicated groups and the aggregation and close (publish) durations from round_stats, which the engine writes at
/// each close (null for the open round, and for rounds closed by a coordinator older than that table).
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
    long Rejections)
{
    /// <summary>
    /// The groups left unchanged and why, joined with "; " (e.g. "blocks.1.moe.experts.3 (1 of 2 holders)"); text, so that
    /// rounds compare by value and an unchanged round is not taken for a change.
    /// </summary>
    public string? SkippedGroupNames { get; init; }
}
