using Microsoft.Data.Sqlite;

namespace Hivemind.Coordinator.Storage;

/// <summary>
/// The coordinator's durable state in SQLite (WAL, synchronous=FULL): volunteers, sessions, work units,
/// the accepted-update ledger, rounds, rejection counts and ban evidence. Every method that a reply
/// acknowledges commits before it returns.
/// </summary>
public sealed partial class CoordinatorStore : IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS volunteers(
            id TEXT PRIMARY KEY, public_key BLOB NOT NULL, device TEXT NOT NULL, memory_bytes INTEGER NOT NULL,
            joined_at INTEGER NOT NULL, reputation REAL NOT NULL DEFAULT 0, banned INTEGER NOT NULL DEFAULT 0, ban_reason TEXT);
        DROP TABLE IF EXISTS sessions;
        CREATE TABLE IF NOT EXISTS session_hashes(token_sha256 TEXT PRIMARY KEY, volunteer_id TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS work_units(
            id TEXT PRIMARY KEY, round INTEGER NOT NULL, version INTEGER NOT NULL, volunteer_id TEXT NOT NULL,
            shard TEXT NOT NULL, unit_index INTEGER NOT NULL, issued_at INTEGER NOT NULL, deadline INTEGER NOT NULL, state TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS updates(
            seq INTEGER PRIMARY KEY AUTOINCREMENT, work_unit_id TEXT NOT NULL UNIQUE, volunteer_id TEXT NOT NULL,
            round INTEGER NOT NULL, version INTEGER NOT NULL, envelope BLOB NOT NULL, signature BLOB NOT NULL,
            payload_path TEXT NOT NULL, payload_bytes INTEGER NOT NULL, tokens INTEGER NOT NULL, loss REAL NOT NULL,
            accepted_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS rounds(
            round INTEGER PRIMARY KEY, version INTEGER NOT NULL, opened_at INTEGER NOT NULL, closed_at INTEGER,
            updates INTEGER NOT NULL DEFAULT 0, train_loss REAL, eval_loss REAL, checkpoint TEXT);
        CREATE TABLE IF NOT EXISTS rejections(reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS run(only INTEGER PRIMARY KEY CHECK (only = 0), run_id BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS round_stats(
            round INTEGER PRIMARY KEY, skipped_groups INTEGER NOT NULL, skipped_names TEXT NOT NULL, under_replicated INTEGER NOT NULL,
            aggregation_seconds REAL NOT NULL, publish_seconds REAL NOT NULL);
        CREATE TABLE IF NOT EXISTS evidence(
            seq INTEGER PRIMARY KEY AUTOINCREMENT, volunteer_id TEXT NOT NULL, at INTEGER NOT NULL, reason TEXT NOT NULL,
            envelope BLOB, signature BLOB);
        CREATE TABLE IF NOT EXISTS ledger(leaf_index INTEGER PRIMARY KEY, entry BLOB NOT NULL);
        """;

    private readonly SqliteConnection _db;
    private readonly object _gate = new();

    // Every authenticated call reads its volunteer; served from memory it never waits behind a commit's fsync. Entries are
    // dropped (under _gate) by every write to the volunteers table and filled (under _gate) from committed rows, so a reader
    // never keeps a row older than a committed write.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, VolunteerRecord> _volunteerCache = new(StringComparer.Ordinal);
    private SqliteTransaction? _tx;

    public CoordinatorStore(string path) : this(path, durable: true)
    {
    }

    /// <summary>Opens the store at <paramref name="path"/>; with <paramref name="durable"/> false it lives in memory only (simulations: CoordinatorOptions.Durable).</summary>
    public CoordinatorStore(string path, bool durable)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = durable ? path : ":memory:", Pooling = false }.ToString());
        try
        {
            _db.Open();
            if (durable)
            {
                Execute("PRAGMA journal_mode=WAL;");
                // FULL: a commit is on disk before the call returns, so an acknowledged update survives SIGKILL and power loss.
                Execute("PRAGMA synchronous=FULL;");
            }

            Execute(Schema);
            Execute(SpotCheckSchema);
            AddBaseUnitColumn();
            Execute(BlindCheckSchema);
        }
        catch (SqliteException e)
        {
            _db.Dispose();
            throw new InvalidDataException($"the coordinator store {path} cannot be opened ({e.Message}). " +
                                           "If it is corrupt, move it aside and start from the latest checkpoint.", e);
        }
    }

    /// <summary>Eager units (issue 16) name their base unit; a store made before them gains the column, empty for its old units.</summary>
    private void AddBaseUnitColumn()
    {
        using var cmd = Command("SELECT COUNT(*) FROM pragma_table_info('work_units') WHERE name = 'base_unit'");
        if (Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            Execute("ALTER TABLE work_units ADD COLUMN base_unit TEXT");
    }

    // ---- volunteers -------------------------------------------------------------------------

    public void UpsertVolunteer(VolunteerRecord v)
    {
        lock (_gate) Upsert(v);
    }

    /// <summary>Registers (or updates) a volunteer and replaces its session in one transaction: a join costs one durable commit, not two.</summary>
    public void Admit(VolunteerRecord v, string tokenSha256, long atMs)
    {
        lock (_gate)
        {
            InTransaction(() =>
            {
                Upsert(v);
                SetSession(tokenSha256, v.Id, atMs);
            });
        }
    }

    private void Upsert(VolunteerRecord v)
    {
        _volunteerCache.TryRemove(v.Id, out _);
        Execute("""
            INSERT INTO volunteers(id, public_key, device, memory_bytes, joined_at) VALUES($id, $pk, $dev, $mem, $at)
            ON CONFLICT(id) DO UPDATE SET device = $dev, memory_bytes = $mem;
            """, ("$id", v.Id), ("$pk", v.PublicKey), ("$dev", v.Device), ("$mem", v.MemoryBytes), ("$at", v.JoinedAtMs));
    }

    public VolunteerRecord? GetVolunteer(string id)
    {
        if (_volunteerCache.TryGetValue(id, out var cached)) return cached;
        lock (_gate)
        {
            using var cmd = Command("SELECT id, public_key, device, memory_bytes, joined_at, reputation, banned, ban_reason FROM volunteers WHERE id = $id", ("$id", id));
            using var r = cmd.ExecuteReader();
            if (!r.Read()) return null;
            var v = ReadVolunteer(r);
            // Only committed rows are cached: inside a transaction the row may still roll back.
            if (_tx is null) _volunteerCache[id] = v;
            return v;
        }
    }

    public IReadOnlyList<VolunteerRecord> Volunteers()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT id, public_key, device, memory_bytes, joined_at, reputation, banned, ban_reason FROM volunteers ORDER BY joined_at, id");
            using var r = cmd.ExecuteReader();
            var list = new List<VolunteerRecord>();
            while (r.Read()) list.Add(ReadVolunteer(r));
            return list;
        }
    }

    public void SetReputation(string id, double reputation)
    {
        lock (_gate)
        {
            _volunteerCache.TryRemove(id, out _);
            Execute("UPDATE volunteers SET reputation = $r WHERE id = $id", ("$r", reputation), ("$id", id));
        }
    }

    /// <summary>Bans a volunteer and keeps the signed evidence, in one transaction.</summary>
    public void Ban(string id, string reason, long atMs, byte[]? envelope, byte[]? signature)
    {
        lock (_gate)
        {
            _volunteerCache.TryRemove(id, out _);
            InTransaction(() =>
            {
                Execute("UPDATE volunteers SET banned = 1, ban_reason = $why WHERE id = $id", ("$why", reason), ("$id", id));
                Execute("INSERT INTO evidence(volunteer_id, at, reason, envelope, signature) VALUES($id, $at, $why, $env, $sig)",
                    ("$id", id), ("$at", atMs), ("$why", reason), ("$env", (object?)envelope ?? DBNull.Value), ("$sig", (object?)signature ?? DBNull.Value));
            });
        }
    }

    /// <summary>Keeps signed evidence against a key without banning it (e.g. one equivocation).</summary>
    public void AddEvidence(string id, string reason, long atMs, byte[]? envelope, byte[]? signature)
    {
        lock (_gate)
        {
            Execute("INSERT INTO evidence(volunteer_id, at, reason, envelope, signature) VALUES($id, $at, $why, $env, $sig)",
                ("$id", id), ("$at", atMs), ("$why", reason), ("$env", (object?)envelope ?? DBNull.Value), ("$sig", (object?)signature ?? DBNull.Value));
        }
    }

    public int EvidenceCount(string volunteerId)
    {
        lock (_gate) return Convert.ToInt32(Scalar("SELECT COUNT(*) FROM evidence WHERE volunteer_id = $id", ("$id", volunteerId)));
    }

    // ---- sessions (only the SHA-256 of each token is stored; one session per volunteer) ----------------

    /// <summary>Replaces the volunteer's session (if any) by this one, in one transaction.</summary>
    public void ReplaceSession(string tokenSha256, string volunteerId, long atMs)
    {
        lock (_gate)
        {
            InTransaction(() => SetSession(tokenSha256, volunteerId, atMs));
        }
    }

    private void SetSession(string tokenSha256, string volunteerId, long atMs)
    {
        Execute("DELETE FROM session_hashes WHERE volunteer_id = $v", ("$v", volunteerId));
        Execute("INSERT INTO session_hashes(token_sha256, volunteer_id, created_at) VALUES($t, $v, $at)", ("$t", tokenSha256), ("$v", volunteerId), ("$at", atMs));
    }

    /// <summary>Every stored session: (token hash, volunteer id).</summary>
    public IReadOnlyList<(string TokenSha256, string VolunteerId)> Sessions()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT token_sha256, volunteer_id FROM session_hashes");
            using var r = cmd.ExecuteReader();
            var list = new List<(string, string)>();
            while (r.Read()) list.Add((r.GetString(0), r.GetString(1)));
            return list;
        }
    }

    public void RemoveSessions(string volunteerId)
    {
        lock (_gate) Execute("DELETE FROM session_hashes WHERE volunteer_id = $v", ("$v", volunteerId));
    }

    // ---- work units -------------------------------------------------------------------------

    public void AddWorkUnit(WorkUnitRecord w)
    {
        lock (_gate)
        {
            Execute("""
                INSERT INTO work_units(id, round, version, volunteer_id, shard, unit_index, issued_at, deadline, state, base_unit)
                VALUES($id, $r, $v, $vol, $shard, $idx, $at, $dl, $st, $base)
                """, ("$id", w.Id), ("$r", w.Round), ("$v", w.Version), ("$vol", w.VolunteerId), ("$shard", w.Shard),
                ("$idx", w.UnitIndex), ("$at", w.IssuedAtMs), ("$dl", w.DeadlineMs), ("$st", w.State), ("$base", w.BaseUnitId));
        }
    }

    public WorkUnitRecord? GetWorkUnit(string id)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT id, round, version, volunteer_id, shard, unit_index, issued_at, deadline, state, base_unit FROM work_units WHERE id = $id", ("$id", id));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadWorkUnit(r) : null;
        }
    }

    public IReadOnlyList<WorkUnitRecord> WorkUnits(long round)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT id, round, version, volunteer_id, shard, unit_index, issued_at, deadline, state, base_unit FROM work_units WHERE round = $r ORDER BY unit_index, issued_at", ("$r", round));
            using var r = cmd.ExecuteReader();
            var list = new List<WorkUnitRecord>();
            while (r.Read()) list.Add(ReadWorkUnit(r));
            return list;
        }
    }

    public void SetWorkUnitState(string id, string state)
    {
        lock (_gate) Execute("UPDATE work_units SET state = $s WHERE id = $id", ("$s", state), ("$id", id));
    }

    /// <summary>A heartbeat moved the lease deadline.</summary>
    public void SetWorkUnitDeadline(string id, long deadlineMs)
    {
        lock (_gate) Execute("UPDATE work_units SET deadline = $d WHERE id = $id", ("$d", deadlineMs), ("$id", id));
    }

    /// <summary>Units of rounds before <paramref name="round"/> still marked leased can no longer be submitted: marks them expired.</summary>
    public int ExpireLeasesBefore(long round)
    {
        lock (_gate)
        {
            using var cmd = Command("UPDATE work_units SET state = 'expired' WHERE state = 'leased' AND round < $r", ("$r", round));
            return cmd.ExecuteNonQuery();
        }
    }

    // ---- the ledger -------------------------------------------------------------------------

    /// <summary>Records an accepted update and completes its work unit in one durable transaction.</summary>
    public long AcceptUpdate(UpdateRecord u)
    {
        lock (_gate)
        {
            long seq = 0;
            InTransaction(() =>
            {
                Execute("""
                    INSERT INTO updates(work_unit_id, volunteer_id, round, version, envelope, signature, payload_path, payload_bytes, tokens, loss, accepted_at)
                    VALUES($wu, $vol, $r, $v, $env, $sig, $path, $bytes, $tok, $loss, $at)
                    """, ("$wu", u.WorkUnitId), ("$vol", u.VolunteerId), ("$r", u.Round), ("$v", u.Version), ("$env", u.Envelope),
                    ("$sig", u.Signature), ("$path", u.PayloadPath), ("$bytes", u.PayloadBytes), ("$tok", u.Tokens), ("$loss", u.Loss), ("$at", u.AcceptedAtMs));
                seq = (long)Scalar("SELECT last_insert_rowid()")!;
                Execute("UPDATE work_units SET state = 'completed' WHERE id = $id", ("$id", u.WorkUnitId));
                Execute("UPDATE rounds SET updates = updates + 1 WHERE round = $r", ("$r", u.Round));
            });
            return seq;
        }
    }

    public bool HasUpdateFor(string workUnitId)
    {
        lock (_gate) return Convert.ToInt64(Scalar("SELECT COUNT(*) FROM updates WHERE work_unit_id = $id", ("$id", workUnitId))) > 0;
    }

    /// <summary>The accepted update of a work unit, if any.</summary>
    public UpdateRecord? UpdateFor(string workUnitId)
    {
        lock (_gate)
        {
            using var cmd = Command(UpdateColumns + " WHERE work_unit_id = $id", ("$id", workUnitId));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadUpdate(r) : null;
        }
    }

    public IReadOnlyList<UpdateRecord> Updates(long round)
    {
        lock (_gate)
        {
            using var cmd = Command(UpdateColumns + " WHERE round = $r ORDER BY seq", ("$r", round));
            using var r = cmd.ExecuteReader();
            var list = new List<UpdateRecord>();
            while (r.Read()) list.Add(ReadUpdate(r));
            return list;
        }
    }

    public long LedgerCount()
    {
        lock (_gate) return Convert.ToInt64(Scalar("SELECT COUNT(*) FROM updates"));
    }

    public long PayloadBytesTotal()
    {
        lock (_gate) return Convert.ToInt64(Scalar("SELECT COALESCE(SUM(payload_bytes), 0) FROM updates"));
    }

    // ---- rounds -------------------------------------------------------------------------

    public void OpenRound(long round, long version, long atMs)
    {
        lock (_gate) Execute("INSERT OR IGNORE INTO rounds(round, version, opened_at) VALUES($r, $v, $at)", ("$r", round), ("$v", version), ("$at", atMs));
    }

    /// <summary>Closes round <paramref name="round"/>, opens the next and records reputations, in one durable transaction.</summary>
    public void AdvanceRound(long round, long atMs, double? trainLoss, double? evalLoss, string checkpoint, long next,
        IReadOnlyDictionary<string, double>? reputations = null, RoundStatsRecord? stats = null)
    {
        lock (_gate)
        {
            InTransaction(() =>
            {
                foreach (var (id, score) in reputations ?? new Dictionary<string, double>())
                {
                    _volunteerCache.TryRemove(id, out _);
                    Execute("UPDATE volunteers SET reputation = $r WHERE id = $id", ("$r", score), ("$id", id));
                }
                Execute("UPDATE rounds SET closed_at = $at, train_loss = $tl, eval_loss = $el, checkpoint = $cp WHERE round = $r",
                    ("$at", atMs), ("$tl", (object?)trainLoss ?? DBNull.Value), ("$el", (object?)evalLoss ?? DBNull.Value), ("$cp", checkpoint), ("$r", round));
                Execute("INSERT OR IGNORE INTO rounds(round, version, opened_at) VALUES($r, $v, $at)", ("$r", next), ("$v", next), ("$at", atMs));
                if (stats is not null) InsertRoundStats(stats);
            });
        }
    }

    /// <summary>Records the held-out loss measured after a round's version was published.</summary>
    public void SetEvalLoss(long round, double evalLoss)
    {
        lock (_gate) Execute("UPDATE rounds SET eval_loss = $el WHERE round = $r", ("$el", evalLoss), ("$r", round));
    }

    public IReadOnlyList<RoundRecord> Rounds()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT round, version, opened_at, closed_at, updates, train_loss, eval_loss, checkpoint FROM rounds ORDER BY round");
            using var r = cmd.ExecuteReader();
            var list = new List<RoundRecord>();
            while (r.Read())
            {
                list.Add(new RoundRecord(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.IsDBNull(3) ? null : r.GetInt64(3), r.GetInt64(4),
                    r.IsDBNull(5) ? null : r.GetDouble(5), r.IsDBNull(6) ? null : r.GetDouble(6), r.IsDBNull(7) ? null : r.GetString(7)));
            }
            return list;
        }
    }

    // ---- run ---------------------------------------------------------------------------------

    /// <summary>This store's run id: drawn by <paramref name="draw"/> and committed the first time, read back on every later open.</summary>
    public byte[] RunId(Func<byte[]> draw)
    {
        lock (_gate)
        {
            if (Scalar("SELECT run_id FROM run WHERE only = 0") is byte[] existing) return existing;
            byte[] fresh = draw();
            Execute("INSERT INTO run(only, run_id) VALUES(0, $id)", ("$id", fresh));
            return fresh;
        }
    }

    /// <summary>What a closed round's summary says beyond the rounds table (skipped groups, durations); written in the round's own commit.</summary>
    private void InsertRoundStats(RoundStatsRecord stats) =>
            Execute("INSERT OR REPLACE INTO round_stats(round, skipped_groups, skipped_names, under_replicated, aggregation_seconds, publish_seconds) " +
                    "VALUES($r, $s, $n, $u, $a, $p)",
                ("$r", stats.Round), ("$s", stats.SkippedGroups), ("$n", System.Text.Json.JsonSerializer.Serialize(stats.SkippedGroupNames)),
                ("$u", stats.UnderReplicatedGroups), ("$a", stats.AggregationSeconds), ("$p", stats.PublishSeconds));

    /// <summary>The stats of every closed round that has them, in round order.</summary>
    public IReadOnlyList<RoundStatsRecord> RoundStats()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT round, skipped_groups, skipped_names, under_replicated, aggregation_seconds, publish_seconds FROM round_stats ORDER BY round");
            using var r = cmd.ExecuteReader();
            var list = new List<RoundStatsRecord>();
            while (r.Read()) list.Add(RoundStatsRecord.Read(r));
            return list;
        }
    }

    // ---- rejections -------------------------------------------------------------------------

    public void CountRejection(string reason)
    {
        lock (_gate) Execute("INSERT INTO rejections(reason, count) VALUES($r, 1) ON CONFLICT(reason) DO UPDATE SET count = count + 1", ("$r", reason));
    }

    public IReadOnlyDictionary<string, long> Rejections()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT reason, count FROM rejections ORDER BY reason");
            using var r = cmd.ExecuteReader();
            var map = new SortedDictionary<string, long>(StringComparer.Ordinal);
            while (r.Read()) map[r.GetString(0)] = r.GetInt64(1);
            return map;
        }
    }

    public void Dispose() => _db.Dispose();

    private static VolunteerRecord ReadVolunteer(SqliteDataReader r) =>
        new(r.GetString(0), (byte[])r[1], r.GetString(2), r.GetInt64(3), r.GetInt64(4))
        {
            Reputation = r.GetDouble(5),
            Banned = r.GetInt64(6) != 0,
            BanReason = r.IsDBNull(7) ? null : r.GetString(7),
        };

    private const string UpdateColumns =
        "SELECT seq, work_unit_id, volunteer_id, round, version, envelope, signature, payload_path, payload_bytes, tokens, loss, accepted_at FROM updates";

    private static UpdateRecord ReadUpdate(SqliteDataReader r) =>
        new(r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), (byte[])r[5], (byte[])r[6],
            r.GetString(7), r.GetInt64(8), r.GetInt64(9), r.GetDouble(10), r.GetInt64(11)) { Sequence = r.GetInt64(0) };

    private static WorkUnitRecord ReadWorkUnit(SqliteDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetInt32(5), r.GetInt64(6), r.GetInt64(7), r.GetString(8))
        {
            BaseUnitId = r.IsDBNull(9) ? null : r.GetString(9),
        };

    // Microsoft.Data.Sqlite requires every command inside a transaction to name it, hence _tx. Re-entrant: a write that runs
    // inside Atomically (a decision and its ledger entry) joins the outer transaction.
    private void InTransaction(Action body)
    {
        if (_tx is not null)
        {
            body();
            return;
        }
        _tx = _db.BeginTransaction();
        try
        {
            body();
            _tx.Commit();
        }
        finally
        {
            _tx.Dispose();
            _tx = null;
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _tx;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, parameters);
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, parameters);
        return cmd.ExecuteScalar();
    }
}
