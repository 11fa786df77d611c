namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>
/// Rejected updates per round and reason, for rounds from <c>from</c> on, counted since this coordinator process
/// started (the store keeps totals by reason only, see <see cref="StatusView.RejectionsByReason"/>).
/// </summary>
public sealed record RejectionSeriesView(long From, long[] Round, IReadOnlyDictionary<string, long[]> CountsByReason);
