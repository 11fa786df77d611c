using System.Data.Common;
using System.Text.Json;

namespace Hivemind.Coordinator.Storage;

/// <summary>
/// A closed round's expert groups left as they were (too few holders for a robust aggregate, with the reason), groups below the
/// replication target, and how long aggregation and publishing took: the round history that used to live only in memory.
/// </summary>
public sealed record RoundStatsRecord(long Round, int SkippedGroups, IReadOnlyList<string> SkippedGroupNames, int UnderReplicatedGroups,
    double AggregationSeconds, double PublishSeconds)
{
    /// <summary>A row of <c>round_stats</c> (round, skipped_groups, skipped_names, under_replicated, aggregation_seconds, publish_seconds).</summary>
    public static RoundStatsRecord Read(DbDataReader r, int first = 0) =>
        new(r.GetInt64(first), r.GetInt32(first + 1), JsonSerializer.Deserialize<string[]>(r.GetString(first + 2)) ?? [], r.GetInt32(first + 3),
            r.GetDouble(first + 4), r.GetDouble(first + 5));
}
