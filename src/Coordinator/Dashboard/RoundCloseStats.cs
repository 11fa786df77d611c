namespace Hivemind.Coordinator.Dashboard;

/// <summary>What a round-closed event told about one round beyond the store: skipped and under-replicated groups, durations.</summary>
public sealed record RoundCloseStats(int SkippedGroups, int UnderReplicatedGroups, double AggregationSeconds, double CloseSeconds);
