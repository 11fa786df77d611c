using Hivemind.Coordinator.Storage;

namespace Hivemind.Coordinator.Rounds;

/// <summary>Round stats: what a closed round's summary says beyond the rounds table, kept in the store so restarts keep the history.</summary>
public sealed partial class CoordinatorEngine
{
    /// <summary>
    /// Records a closed round's skipped groups and durations. The round itself is already committed; a failure here loses only
    /// this history row (logged), never the round.
    /// </summary>
    private void SaveRoundStats(RoundSummary summary)
    {
        try
        {
            _store.SaveRoundStats(new RoundStatsRecord(summary.Round, summary.SkippedGroups, summary.SkippedGroupNames, summary.UnderReplicatedGroups,
                summary.AggregationTime.TotalSeconds, summary.PublishTime.TotalSeconds));
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            Log?.Invoke($"STORAGE FAILURE: could not record the stats of round {summary.Round} ({e.Message}); the round is closed and the coordinator keeps serving.");
        }
    }
}
