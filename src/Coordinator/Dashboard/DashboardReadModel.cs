using Hivemind.Coordinator.Dashboard.Views;
using Microsoft.Data.Sqlite;

namespace Hivemind.Coordinator.Dashboard;

/// <summary>
/// Builds <see cref="DashboardSnapshot"/>s from the coordinator's SQLite store through its own read-only connection
/// (WAL lets it read while the engine writes; it never takes the engine's lock). Reads are incremental: new ledger
/// rows by sequence, recent work units by rowid, the last few rounds by key, plus the small volunteer, evidence and
/// rejection tables, so a refresh costs little however long the run. Not thread-safe: one refresher at a time.
/// </summary>
public sealed class DashboardReadModel : IDisposable
{
    /// <summary>Rounds at the tail whose rows may still change (held-out loss lands after the next round opens; late updates).</summary>
    public const int MutableTailRounds = 2;

    /// <summary>Longest accepted device string shown; the text is the volunteer's own and is cut, never interpreted.</summary>
    public const int MaxDeviceLength = 64;

    private readonly DashboardFacts _facts;
    private readonly TimeProvider _time;
    private readonly LiveActivity? _activity;
    private readonly SqliteConnection _db;
    private readonly List<RoundView> _rounds = [];
    private readonly Dictionary<long, (long Updates, long Bytes)> _ledgerByRound = [];
    private readonly Dictionary<string, VolunteerTally> _tallies = new(StringComparer.Ordinal);
    private readonly Queue<(long AtMs, long Tokens)> _recentAccepts = new();
    private readonly Dictionary<long, (string Volunteer, long Round, string State, long IssuedMs, long DeadlineMs)> _recentUnits = [];
    private long _lastSeq;
    private long _unitFloor;
    private long _unitsRead;
    private long _acceptedUpdates;
    private long _acceptedBytes;
    private long _sequence;

    public DashboardReadModel(DashboardFacts facts, TimeProvider time, LiveActivity? activity = null)
    {
        _facts = facts;
        _time = time;
        _activity = activity;
        if (!File.Exists(facts.DatabasePath))
            throw new FileNotFoundException($"the coordinator store {facts.DatabasePath} does not exist; open the engine (which creates it) before the dashboard.", facts.DatabasePath);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = facts.DatabasePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        _db.Open();
        // A reader never waits long for the writer's checkpoint; a refresh that fails is retried on the next tick.
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 1000;";
        cmd.ExecuteNonQuery();
    }

    /// <summary>Reads what changed since the last call and returns a new snapshot.</summary>
    public DashboardSnapshot Refresh(long bytesReceived = 0, long bytesSent = 0)
    {
        var now = _time.GetUtcNow();
        long nowMs = now.ToUnixTimeMilliseconds();
        IReadOnlyDictionary<string, long> rejections;
        List<(string Id, string Device, long Memory, long Joined, double Reputation, bool Banned, string? Reason)> volunteers;
        Dictionary<string, long> bannedAt;
        // One read transaction: every table is read at the same commit.
        using (var tx = _db.BeginTransaction(deferred: true))
        {
            ReadLedger(tx);
            ReadUnits(tx);
            ReadRounds(tx);
            volunteers = ReadVolunteers(tx);
            bannedAt = ReadBanTimes(tx);
            rejections = ReadRejections(tx);
            tx.Commit();
        }

        while (_recentAccepts.Count > 0 && _recentAccepts.Peek().AtMs < nowMs - (long)_facts.ThroughputWindow.TotalMilliseconds)
            _recentAccepts.Dequeue();
        double tokensPerSecond = _recentAccepts.Sum(a => (double)a.Tokens) / _facts.ThroughputWindow.TotalSeconds;

        long activeSince = nowMs - (long)_facts.ActiveWindow.TotalMilliseconds;
        var active = new HashSet<string>(StringComparer.Ordinal);
        int leased = 0;
        foreach (var u in _recentUnits.Values)
        {
            bool live = u.State == "leased" && u.DeadlineMs >= nowMs;
            if (live) leased++;
            if (live || u.IssuedMs >= activeSince) active.Add(u.Volunteer);
        }
        foreach (var (id, t) in _tallies)
            if (t.LastAcceptedMs >= activeSince) active.Add(id);

        var byVolunteer = _activity?.RejectionsByVolunteer() ?? [];
        var byRound = _activity?.RejectionsByRound() ?? [];
        var rows = new List<VolunteerView>(volunteers.Count);
        foreach (var v in volunteers)
        {
            var tally = _tallies.GetValueOrDefault(v.Id);
            var rejected = byVolunteer.GetValueOrDefault(v.Id) ?? [];
            rows.Add(new VolunteerView(0, v.Id, v.Device.Length > MaxDeviceLength ? v.Device[..MaxDeviceLength] : v.Device, v.Memory,
                DateTimeOffset.FromUnixTimeMilliseconds(v.Joined), (tally?.Accepted ?? 0) * _facts.TokensPerUnit, tally?.Accepted ?? 0,
                rejected.Values.Sum(), rejected, v.Reputation, !v.Banned && active.Contains(v.Id), v.Banned, v.Reason,
                bannedAt.TryGetValue(v.Id, out long b) ? DateTimeOffset.FromUnixTimeMilliseconds(b) : null,
                tally is { LastAcceptedMs: > 0 } ? DateTimeOffset.FromUnixTimeMilliseconds(tally.LastAcceptedMs) : null));
        }
        var ranked = rows.OrderByDescending(v => v.Credit).ThenByDescending(v => v.Accepted).ThenBy(v => v.JoinedAt).ThenBy(v => v.Id, StringComparer.Ordinal)
            .Select((v, i) => v with { Rank = i + 1 }).ToArray();

        var current = _rounds.Count == 0 ? null : _rounds[^1];
        var status = new StatusView(
            _facts.Preset, current?.Round ?? 0, current?.Version ?? 0, _facts.MaxRounds,
            _rounds.LastOrDefault(r => r.EvalLoss is not null)?.EvalLoss, _facts.OptimalLoss, tokensPerSecond,
            ranked.Count(v => v.Active), leased, ranked.Length, ranked.Count(v => v.Banned),
            _acceptedUpdates, rejections.Values.Sum(), rejections, _acceptedBytes, bytesReceived, bytesSent,
            _acceptedUpdates * _facts.TokensPerUnit, ++_sequence, now, _activity?.Since ?? now);
        return new DashboardSnapshot(status, [.. _rounds], ranked, byRound);
    }

    private void ReadLedger(SqliteTransaction tx)
    {
        using var cmd = Command(tx, "SELECT seq, volunteer_id, round, payload_bytes, accepted_at FROM updates WHERE seq > $seq ORDER BY seq", ("$seq", _lastSeq));
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            _lastSeq = r.GetInt64(0);
            string id = r.GetString(1);
            long round = r.GetInt64(2), bytes = r.GetInt64(3), at = r.GetInt64(4);
            if (!_tallies.TryGetValue(id, out var t)) _tallies[id] = t = new VolunteerTally();
            t.Accepted++;
            t.LastAcceptedMs = Math.Max(t.LastAcceptedMs, at);
            var (updates, roundBytes) = _ledgerByRound.GetValueOrDefault(round);
            _ledgerByRound[round] = (updates + 1, roundBytes + bytes);
            _acceptedUpdates++;
            _acceptedBytes += bytes;
            _recentAccepts.Enqueue((at, _facts.TokensPerUnit));
        }
    }

    private void ReadUnits(SqliteTransaction tx)
    {
        using (var cmd = Command(tx, "SELECT rowid, volunteer_id, round, state, issued_at, deadline FROM work_units WHERE rowid > $floor", ("$floor", _unitFloor)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                long rowid = r.GetInt64(0);
                _recentUnits[rowid] = (r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5));
                _unitsRead = Math.Max(_unitsRead, rowid);
            }
        }
        if (_recentUnits.Count == 0) return;
        // Units are inserted in round order, so everything below the first unit of the rounds still in play is settled.
        long newest = _recentUnits.Values.Max(u => u.Round);
        long keepFrom = newest - _facts.MaxStaleness - 1;
        long activeSince = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)_facts.ActiveWindow.TotalMilliseconds;
        foreach (var (rowid, u) in _recentUnits.Where(p => p.Value.Round < keepFrom && p.Value.IssuedMs < activeSince && p.Value.State != "leased").ToList())
            _recentUnits.Remove(rowid);
        _unitFloor = _recentUnits.Count == 0 ? _unitsRead : _recentUnits.Keys.Min() - 1;
    }

    private void ReadRounds(SqliteTransaction tx)
    {
        long from = _rounds.Count == 0 ? long.MinValue : _rounds[Math.Max(0, _rounds.Count - 1 - MutableTailRounds)].Round;
        using var cmd = Command(tx, "SELECT r.round, r.version, r.opened_at, r.closed_at, r.updates, r.train_loss, r.eval_loss, " +
                                    "s.round, s.skipped_groups, s.skipped_names, s.under_replicated, s.aggregation_seconds, s.publish_seconds " +
                                    "FROM rounds r LEFT JOIN round_stats s ON s.round = r.round WHERE r.round >= $from ORDER BY r.round", ("$from", from));
        using var r = cmd.ExecuteReader();
        int at = _rounds.Count == 0 ? 0 : Math.Max(0, _rounds.Count - 1 - MutableTailRounds);
        _rounds.RemoveRange(at, _rounds.Count - at);
        var rejections = _activity?.RejectionsByRound();
        while (r.Read())
        {
            long round = r.GetInt64(0);
            // Kept by the engine in round_stats at each close; absent for rounds closed before that was recorded.
            var close = r.IsDBNull(7) ? null : Storage.RoundStatsRecord.Read(r, 7);
            _rounds.Add(new RoundView(
                round, r.GetInt64(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)),
                r.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)),
                r.GetInt64(4), _ledgerByRound.GetValueOrDefault(round).Updates * _facts.TokensPerUnit,
                r.IsDBNull(5) ? null : r.GetDouble(5), r.IsDBNull(6) ? null : r.GetDouble(6),
                close?.SkippedGroups, close?.UnderReplicatedGroups, close?.AggregationSeconds, close?.PublishSeconds,
                rejections?.GetValueOrDefault(round)?.Values.Sum() ?? 0)
            {
                SkippedGroupNames = close is null ? null : string.Join("; ", close.SkippedGroupNames),
            });
        }
    }

    private List<(string, string, long, long, double, bool, string?)> ReadVolunteers(SqliteTransaction tx)
    {
        using var cmd = Command(tx, "SELECT id, device, memory_bytes, joined_at, reputation, banned, ban_reason FROM volunteers");
        using var r = cmd.ExecuteReader();
        var list = new List<(string, string, long, long, double, bool, string?)>();
        while (r.Read())
            list.Add((r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetDouble(4), r.GetInt64(5) != 0, r.IsDBNull(6) ? null : r.GetString(6)));
        return list;
    }

    private Dictionary<string, long> ReadBanTimes(SqliteTransaction tx)
    {
        using var cmd = Command(tx, "SELECT volunteer_id, MAX(at) FROM evidence GROUP BY volunteer_id");
        using var r = cmd.ExecuteReader();
        var map = new Dictionary<string, long>(StringComparer.Ordinal);
        while (r.Read()) map[r.GetString(0)] = r.GetInt64(1);
        return map;
    }

    private SortedDictionary<string, long> ReadRejections(SqliteTransaction tx)
    {
        using var cmd = Command(tx, "SELECT reason, count FROM rejections");
        using var r = cmd.ExecuteReader();
        var map = new SortedDictionary<string, long>(StringComparer.Ordinal);
        while (r.Read()) map[r.GetString(0)] = r.GetInt64(1);
        return map;
    }

    private SqliteCommand Command(SqliteTransaction tx, string sql, params (string Name, object Value)[] parameters)
    {
        var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return cmd;
    }

    public void Dispose() => _db.Dispose();

    private sealed class VolunteerTally
    {
        public long Accepted { get; set; }

        public long LastAcceptedMs { get; set; }
    }
}
