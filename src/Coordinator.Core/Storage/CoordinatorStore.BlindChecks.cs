namespace Hivemind.Coordinator.Storage;

/// <summary>
/// Blind checks (volunteer spot-check mode): which leased units are check units. Written with the check lease, so after a restart a
/// check unit is still never aggregated, and a check that was out when the coordinator stopped is recorded as skipped.
/// </summary>
public sealed partial class CoordinatorStore
{
    private const string BlindCheckSchema = """
        CREATE TABLE IF NOT EXISTS blind_checks(
            check_unit_id TEXT PRIMARY KEY, checked_unit_id TEXT NOT NULL, update_seq INTEGER NOT NULL, volunteer_id TEXT NOT NULL,
            checker_id TEXT NOT NULL, round INTEGER NOT NULL, state TEXT NOT NULL);
        """;

    /// <summary>State of a check unit whose result has not come back.</summary>
    public const string BlindCheckOut = "out";

    /// <summary>State of a check unit whose check was decided, handed to the coordinator or skipped.</summary>
    public const string BlindCheckDone = "done";

    /// <summary>Marks <paramref name="checkUnitId"/> as the blind check of update <paramref name="updateSequence"/> (call inside the lease's transaction).</summary>
    public void AddBlindCheck(string checkUnitId, string checkedUnitId, long updateSequence, string volunteerId, string checkerId, long round)
    {
        lock (_gate)
        {
            Execute("""
                INSERT INTO blind_checks(check_unit_id, checked_unit_id, update_seq, volunteer_id, checker_id, round, state)
                VALUES($c, $u, $s, $v, $k, $r, $state)
                """,
                ("$c", checkUnitId), ("$u", checkedUnitId), ("$s", updateSequence), ("$v", volunteerId), ("$k", checkerId), ("$r", round), ("$state", BlindCheckOut));
        }
    }

    public void SetBlindCheckState(string checkUnitId, string state)
    {
        lock (_gate) Execute("UPDATE blind_checks SET state = $state WHERE check_unit_id = $c", ("$state", state), ("$c", checkUnitId));
    }

    /// <summary>Every check unit: (check unit, checked unit, update sequence, checked key, checker, state).</summary>
    public IReadOnlyList<(string CheckUnitId, string CheckedUnitId, long UpdateSequence, string VolunteerId, string CheckerId, string State)> BlindChecks()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT check_unit_id, checked_unit_id, update_seq, volunteer_id, checker_id, state FROM blind_checks ORDER BY rowid");
            using var r = cmd.ExecuteReader();
            var list = new List<(string, string, long, string, string, string)>();
            while (r.Read()) list.Add((r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5)));
            return list;
        }
    }
}
