using Hivemind.Coordinator.Verification;

namespace Hivemind.Coordinator.Storage;

/// <summary>Spot-check outcomes: one durable row per drawn check (passed, failed, skipped or not computable).</summary>
public sealed partial class CoordinatorStore
{
    private const string SpotCheckSchema = """
        CREATE TABLE IF NOT EXISTS spot_checks(
            seq INTEGER PRIMARY KEY AUTOINCREMENT, update_seq INTEGER NOT NULL, work_unit_id TEXT NOT NULL, volunteer_id TEXT NOT NULL,
            verdict TEXT NOT NULL, max_relative_l2 REAL, min_cosine REAL, evidence_path TEXT, dropped_updates INTEGER NOT NULL,
            detail TEXT NOT NULL, at INTEGER NOT NULL);
        """;

    /// <summary>Appends an outcome; committed before it returns. Returns its sequence number.</summary>
    public long AddSpotCheck(SpotCheckOutcome o)
    {
        lock (_gate)
        {
            Execute("""
                INSERT INTO spot_checks(update_seq, work_unit_id, volunteer_id, verdict, max_relative_l2, min_cosine, evidence_path, dropped_updates, detail, at)
                VALUES($u, $w, $v, $verdict, $l2, $cos, $path, $dropped, $detail, $at)
                """,
                ("$u", o.UpdateSequence), ("$w", o.WorkUnitId), ("$v", o.VolunteerId), ("$verdict", o.Verdict.ToString()),
                ("$l2", Finite(o.MaxRelativeL2)), ("$cos", Finite(o.MinCosine)), ("$path", o.EvidencePath), ("$dropped", o.DroppedUpdates),
                ("$detail", o.Detail), ("$at", o.AtMs));
            return (long)Scalar("SELECT last_insert_rowid()")!;
        }
    }

    /// <summary>Every outcome in order (of one volunteer when given).</summary>
    public IReadOnlyList<SpotCheckOutcome> SpotChecks(string? volunteerId = null)
    {
        lock (_gate)
        {
            using var cmd = volunteerId is null
                ? Command("SELECT update_seq, work_unit_id, volunteer_id, verdict, max_relative_l2, min_cosine, evidence_path, dropped_updates, detail, at FROM spot_checks ORDER BY seq")
                : Command("SELECT update_seq, work_unit_id, volunteer_id, verdict, max_relative_l2, min_cosine, evidence_path, dropped_updates, detail, at FROM spot_checks WHERE volunteer_id = $v ORDER BY seq", ("$v", volunteerId));
            using var r = cmd.ExecuteReader();
            var list = new List<SpotCheckOutcome>();
            while (r.Read())
                list.Add(new SpotCheckOutcome(r.GetInt64(0), r.GetString(1), r.GetString(2), Enum.Parse<SpotCheckVerdict>(r.GetString(3)),
                    r.IsDBNull(4) ? double.NaN : r.GetDouble(4), r.IsDBNull(5) ? double.NaN : r.GetDouble(5),
                    r.IsDBNull(6) ? null : r.GetString(6), r.GetInt32(7), r.GetString(8), r.GetInt64(9)));
            return list;
        }
    }

    /// <summary>Passed checks per volunteer (probation ends only after enough of them).</summary>
    public IReadOnlyDictionary<string, int> PassedSpotChecks()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT volunteer_id, COUNT(*) FROM spot_checks WHERE verdict = $p GROUP BY volunteer_id", ("$p", nameof(SpotCheckVerdict.Passed)));
            using var r = cmd.ExecuteReader();
            var map = new Dictionary<string, int>(StringComparer.Ordinal);
            while (r.Read()) map[r.GetString(0)] = r.GetInt32(1);
            return map;
        }
    }

    private static object Finite(double value) => double.IsNaN(value) ? DBNull.Value : value;
}
