using System.Diagnostics;
using System.Security.Cryptography;
using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>Leases: who gets a unit (draw, probation, per-key share), downloads, heartbeats, expiry.</summary>
public sealed partial class CoordinatorEngine
{
    /// <summary>Synchronous form of <see cref="RequestWorkAsync"/> for in-process callers (simulator, tests); the wait is on the lease commit writer.</summary>
    public WorkDecision RequestWork(string sessionToken, bool eager = false) => RequestWorkAsync(sessionToken, eager).GetAwaiter().GetResult();

    /// <summary>
    /// Leases a work unit to the volunteer, or says when to ask again. A large waiting crowd is told to come back after about
    /// active ÷ <see cref="CoordinatorOptions.WorkPollsPerSecond"/> (with jitter), so a thousand idle volunteers cost a bounded
    /// number of calls per second; the session stays live until then (<see cref="SessionBook.ExpectAt"/>).
    /// The lease is decided under the engine's lock; its store row and ledger entry are group-committed with the leases issued beside it
    /// (one fsync for the batch, off the lock), and the task completes only once they are durable, so the reply is sent after that.
    /// A failed commit withdraws the lease and answers <c>coordinator-storage</c>.
    /// </summary>
    /// <param name="eager">The volunteer would take an eager unit of the next round (<see cref="CoordinatorOptions.EagerSlots"/>).</param>
    public async Task<WorkDecision> RequestWorkAsync(string sessionToken, bool eager = false)
    {
        long start = Stopwatch.GetTimestamp();
        var v = Authenticate(sessionToken);
        long authenticated = Stopwatch.GetTimestamp();
        long locked;
        WorkDecision decision;
        bool duringClose;
        Task committed = Task.CompletedTask;
        lock (_gate)
        {
            locked = Stopwatch.GetTimestamp();
            duringClose = _closing;
            decision = DecideWork(v, eager);
            // The same pending commit for a repeated ask too: no reply names a lease before it is durable.
            if (decision.Unit is { } unit && _pendingLeaseCommits.TryGetValue(unit.Id, out var pending)) committed = pending;
        }
        long decided = Stopwatch.GetTimestamp();
        if (decision.Unit is null)
        {
            _sessions.ExpectAt(v.Id, _time.GetUtcNow() + decision.RetryAfter);
            WorkTimings.Record(authenticated - start, locked - authenticated, decided - locked, 0, unit: false, duringClose);
            return decision;
        }
        try
        {
            await committed.ConfigureAwait(false);
            WorkTimings.Record(authenticated - start, locked - authenticated, decided - locked, Stopwatch.GetTimestamp() - decided, unit: true, duringClose);
        }
        catch (Exception e) when (e is not ProtocolException)
        {
            // Withdrawn before the answer, so the volunteer's next ask gets a fresh lease (the commit's continuation does the same).
            WithdrawUncommitted(decision.Unit.Id, e);
            throw Reject(RejectReason.CoordinatorStorage, $"the coordinator could not record the lease ({e.GetType().Name}); ask again in a few seconds");
        }
        return decision;
    }

    /// <summary>Server-side time of <see cref="RequestWorkAsync"/> by phase, since start (the host logs it at shutdown).</summary>
    public WorkRequestTimings WorkTimings { get; } = new();

    /// <summary>Leases awaiting their group commit right now.</summary>
    public int PendingLeases => _leaseCommits.Pending;

    /// <summary>Durable transactions that committed leases, and the leases they committed, since start.</summary>
    public (long Batches, long Leases) LeaseCommits => (_leaseCommits.Batches, _leaseCommits.Committed);

    /// <summary>Raised on the commit writer thread just before a batch of leases (its size given) is written; tests hold a commit open with it.</summary>
    public event Action<int>? LeaseBatchCommitting;

    /// <summary>Writes a batch of leases (work-unit rows and ledger entries) in one transaction. Runs on the commit writer thread.</summary>
    private void CommitLeases(IReadOnlyList<WorkUnitRecord> leases)
    {
        LeaseBatchCommitting?.Invoke(leases.Count);
        _ledger.RecordAll(leases.Select(w => ((Action)(() => WriteLeaseRows(w)), Hivemind.Coordinator.Ledger.LedgerEntries.Lease(w))).ToList());
    }

    /// <summary>
    /// Blocks until every lease queued so far is committed (or failed): a later write about a lease (its expiry, a new deadline) or the
    /// round's ledger entry must not reach the store before the lease's own row and entry. Returns at once when nothing waits. Caller holds
    /// the lock; the commit writer never takes it.
    /// </summary>
    private void FlushLeaseCommits()
    {
        var last = _lastLeaseCommit;
        if (last.IsCompleted) return;
        ((IAsyncResult)last).AsyncWaitHandle.WaitOne();
    }

    /// <summary>After a lease's commit: forgets the pending task; a failed one withdraws the lease (nothing of it is in the store).</summary>
    private void LeaseCommitted(WorkUnitRecord lease, Task commit)
    {
        if (commit.IsFaulted) WithdrawUncommitted(lease.Id, commit.Exception!.GetBaseException());
        else lock (_gate) _pendingLeaseCommits.Remove(lease.Id);
    }

    /// <summary>Forgets a lease whose commit failed (it was never in the store); idempotent.</summary>
    private void WithdrawUncommitted(string leaseId, Exception why)
    {
        lock (_gate)
        {
            if (!_pendingLeaseCommits.Remove(leaseId)) return;
            if (_leases.TryGetValue(leaseId, out var current) && current.State == "leased")
            {
                RemoveLease(leaseId);
                _downloads.Remove(leaseId);
            }
            BlindLeaseWithdrawn(leaseId);
            Log?.Invoke($"STORAGE FAILURE: could not record the lease {leaseId} ({why.Message}); it was withdrawn and its volunteer asks again.");
        }
    }

    /// <summary>The lease or the wait for <paramref name="v"/>. Caller holds the lock.</summary>
    private WorkDecision DecideWork(Storage.VolunteerRecord v, bool eager)
    {
        ExpireOverdueLeases();
        if (Finished) return WorkDecision.Wait(TimeSpan.FromSeconds(30), $"training finished after {_options.MaxRounds} rounds");
        var mine = _leases.Values.FirstOrDefault(l => l.VolunteerId == v.Id && l.State == "leased" && (l.Round == _round || l.Round == _round + 1));
        if (mine is not null) return WorkDecision.Work(BuildUnit(mine));
        var now = _time.GetUtcNow();
        _lastSeen[v.Id] = now;
        // A blind check goes first to an eligible volunteer that asks: it must run while its round is open, and it looks like any unit.
        if (TryLeaseBlindCheck(v, now) is { } check) return WorkDecision.Work(BuildUnit(check));
        // An eager unit is leased while the round closes too (that is its point); it takes a place in the lease commit queue like any lease.
        if (eager && _leaseCommits.TryReserve())
        {
            if (TryLeaseEager(v, now) is { } ahead) return WorkDecision.Work(BuildUnit(ahead));
            _leaseCommits.Release();
        }
        int cap = KeyCap(now, out int active);
        var busy = PollSpacing(active);
        int held = Held(v.Id);
        if (held >= cap)
            return WorkDecision.Wait(busy, $"this volunteer already trained {held} unit(s) of round {_round}; the rest go to the {active - 1} other active volunteers");
        if (_closing)
            return WorkDecision.Wait(busy, $"round {_round} is closing");
        if (_accepted.Count >= _options.Quorum)
            return WorkDecision.Wait(busy, $"round {_round} reached its quorum and is closing");
        // Admission control for the lease writer: refuse now with advice rather than queue without bound; nothing is drawn or claimed yet.
        if (!_leaseCommits.TryReserve())
        {
            var advice = _leaseCommits.RetryAdvice;
            return WorkDecision.Wait(advice, $"{_leaseCommits.Pending} leases are waiting for their durable commit (at most {MaxPendingLeases}); ask again in {advice.TotalSeconds:0.##} s");
        }
        bool issued = false;
        try
        {
            var decision = DecideNewLease(v, now, busy);
            issued = decision.Unit is not null;
            return decision;
        }
        finally
        {
            if (!issued) _leaseCommits.Release();
        }
    }

    /// <summary>A new lease for <paramref name="v"/> (a won or claimed draw) or the wait; a place in the lease commit queue is reserved. Caller holds the lock.</summary>
    private WorkDecision DecideNewLease(Storage.VolunteerRecord v, DateTimeOffset now, TimeSpan busy)
    {
        // A unit won in the last draw is already set aside (not among the free slots): the winner takes it before the free-slot check.
        if (_draw.TryClaim(_round, v.Id))
            return WorkDecision.Work(BuildUnit(IssueLease(v, now)));
        if (FreeSlots() <= 0)
            return WorkDecision.Wait(busy, $"all work units of round {_round} are leased");
        // A small crowd is never asked to stay silent longer than its session allows (3 heartbeat intervals); a large one is spread
        // out further, and the session is kept live for the wait it was told (RequestWork).
        if (_draw.Ask(_round, v.Id, PickParticipants) is { } wait)
        {
            var told = wait < _options.HeartbeatInterval ? wait : _options.HeartbeatInterval;
            // An entrant must come back within the claim window to take a unit it won.
            var latest = _draw.ClaimWindow - _options.ParticipantDrawWindow;
            if (busy > BusyRetry && busy > told) told = busy < latest ? busy : latest;
            return WorkDecision.Wait(told,
                $"round {_round}'s free units are drawn at random among the volunteers asking within {_options.ParticipantDrawWindow.TotalSeconds:0.#} s; ask again then");
        }
        return WorkDecision.Work(BuildUnit(IssueLease(v, now)));
    }

    /// <summary>
    /// How long a volunteer without work waits: <see cref="BusyRetry"/> for a small crowd; for a large one, long enough that the
    /// <paramref name="active"/> volunteers together ask about <see cref="CoordinatorOptions.WorkPollsPerSecond"/> times a second, stretched
    /// by up to <see cref="PollJitter"/> at random so that volunteers told together do not return together. Caller holds the lock.
    /// </summary>
    private TimeSpan PollSpacing(int active)
    {
        double seconds = active / (double)_options.WorkPollsPerSecond;
        if (seconds <= BusyRetry.TotalSeconds) return BusyRetry;
        return TimeSpan.FromSeconds(seconds * (1 + PollJitter * _pollJitter.NextDouble()));
    }

    /// <summary>
    /// Most units of the round one key may hold. One identity may not fill several slots of a round while others wait: robust rules bound
    /// the share of Byzantine *inputs*, so a fast attacker must not turn one key into many inputs. Repeats are allowed only when there
    /// are fewer active volunteers than units (a small pool still reaches its quorum). Caller holds the lock.
    /// </summary>
    private int KeyCap(DateTimeOffset now, out int active)
    {
        active = _lastSeen.Values.Count(t => now - t <= ActiveWindow);
        return (int)Math.Ceiling((double)(_options.Quorum + _options.SpareLeases) / Math.Max(1, active));
    }

    /// <summary>Units of the current round leased to <paramref name="volunteerId"/> that did not expire (live or submitted). Caller holds the lock.</summary>
    private int Held(string volunteerId) => _leases.Values.Count(l => l.VolunteerId == volunteerId && l.Round == _round && l.State != "expired" && !_checkUnits.Contains(l.Id));

    /// <summary>Units of this round not yet accepted, leased or promised to a drawn volunteer. Caller holds the lock.</summary>
    private int FreeSlots()
    {
        // Check units are extra work beside the round's slots: they neither take a slot nor count towards the quorum.
        int live = _leases.Values.Count(l => l.State == "leased" && l.Round == _round && !_checkUnits.Contains(l.Id));
        return _options.Quorum + _options.SpareLeases - _accepted.Count - live - _draw.Reserved(_round);
    }

    /// <summary>
    /// The draw's winners from shuffled entrants, one unit each, as many as there are free slots: established keys first, then keys on
    /// probation, which together (leased or reserved) get at most <see cref="CoordinatorOptions.ProbationSlots"/> units of the round unless
    /// established volunteers cannot fill the rest. A key already at its cap or holding a live unit of the round is passed over.
    /// Caller holds the lock.
    /// </summary>
    private IReadOnlyList<string> PickParticipants(IReadOnlyList<string> shuffled)
    {
        int free = FreeSlots();
        var now = _time.GetUtcNow();
        int cap = KeyCap(now, out _);
        // One pass over the leases (a draw can have a thousand entrants; a scan per entrant would hold the lock for long).
        var held = new Dictionary<string, int>(StringComparer.Ordinal);
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var l in _leases.Values)
        {
            // A unit whose update a failed spot check dropped is out of the round: it holds no place (its slot is free again).
            if (l.Round != _round || l.State == "expired" || _droppedUnits.Contains(l.Id)) continue;
            if (!_checkUnits.Contains(l.Id)) held[l.VolunteerId] = held.GetValueOrDefault(l.VolunteerId) + 1;
            if (l.State == "leased") live.Add(l.VolunteerId);
        }
        var eligible = shuffled.Where(id => held.GetValueOrDefault(id) < cap && !live.Contains(id)).ToList();
        var established = eligible.Where(id => !OnProbation(id)).ToList();
        var probationary = eligible.Where(OnProbation).ToList();
        var inRound = held.Keys.Concat(_draw.ReservedKeys(_round)).Distinct(StringComparer.Ordinal).ToList();
        int probationInRound = inRound.Count(OnProbation);
        int establishedActive = _lastSeen.Where(p => now - p.Value <= ActiveWindow).Count(p => !OnProbation(p.Key));
        int establishedInRound = inRound.Count(id => !OnProbation(id));
        // Slots the established volunteers who are around could not fill anyway stay open to probation, so a new crowd can start.
        int unfillable = Math.Max(0, _options.Quorum + _options.SpareLeases - Math.Max(establishedActive, establishedInRound));
        int probationAllowed = Math.Max(0, Math.Max(_options.ProbationSlots, unfillable) - probationInRound);
        var winners = established.Take(free).ToList();
        winners.AddRange(probationary.Take(Math.Max(0, Math.Min(free - winners.Count, probationAllowed))));
        return winners;
    }

    /// <summary>The full unit of a lease, naming this run (the volunteer signs it into the envelope).</summary>
    private WorkUnit BuildUnit(WorkUnitRecord lease) => _units.Build(lease) with { RunId = RunId };

    private bool OnProbation(string volunteerId) => _reputation.Score(volunteerId) < _options.ProbationReputation || !PassedEnoughSpotChecks(volunteerId);

    private WorkUnitRecord IssueLease(Storage.VolunteerRecord v, DateTimeOffset now)
    {
        var shard = _planner.Plan(v.MemoryBytes, Coverage(), _rng, _options.MaxExpertsPerKey);
        int index = _nextUnitIndex++;
        var record = new WorkUnitRecord(
            UnitId(_round, "u", index),
            _round, _round, v.Id, ShardText.Format(shard), index, now.ToUnixTimeMilliseconds(),
            (now + _options.LeaseDuration).ToUnixTimeMilliseconds(), "leased");
        QueueLease(record);
        return record;
    }

    /// <summary>
    /// A unit's id: round, kind ("u" ordinary, "e" eager) and index, plus 4 random bytes so an id cannot be guessed from the round's
    /// count. A blind check uses the ordinary form (it must look like any unit).
    /// </summary>
    private static string UnitId(long round, string kind, int index) =>
        $"r{round}-{kind}{index}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}";

    /// <summary>Makes <paramref name="record"/> live and queues its durable commit; its place in the commit queue is reserved. Caller holds the lock.</summary>
    private void QueueLease(WorkUnitRecord record)
    {
        SetLease(record);
        // Durable off the lock, in a batch with the leases issued beside it; the reply waits for it (RequestWorkAsync).
        var committed = _leaseCommits.Enqueue(record);
        _pendingLeaseCommits[record.Id] = committed;
        _lastLeaseCommit = committed;
        _ = committed.ContinueWith(t => LeaseCommitted(record, t), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>A copy of the parameters of a leased unit's shard at the current version.</summary>
    public ParameterSet ShardParameters(string sessionToken, long version, string workUnitId)
    {
        var v = Authenticate(sessionToken);
        lock (_gate) return Shards.Extract(_global, CurrentLeaseShard(v, version, workUnitId));
    }

    /// <summary>The shard of a unit leased to this session's volunteer, at the current version (no download is counted).</summary>
    public ShardSpec LeasedShard(string sessionToken, long version, string workUnitId)
    {
        var v = Authenticate(sessionToken);
        lock (_gate) return CurrentLeaseShard(v, version, workUnitId);
    }

    /// <summary>Like <see cref="LeasedShard"/>, and counts one download: a lease allows <see cref="CoordinatorOptions.MaxDownloadsPerLease"/>.</summary>
    public ShardSpec BeginDownload(string sessionToken, long version, string workUnitId)
    {
        var v = Authenticate(sessionToken);
        lock (_gate)
        {
            var shard = CurrentLeaseShard(v, version, workUnitId);
            int count = _downloads.GetValueOrDefault(workUnitId);
            if (count >= _options.MaxDownloadsPerLease)
                throw Reject(RejectReason.RateLimited, $"work unit '{workUnitId}' was already downloaded {count} times (the limit per lease is {_options.MaxDownloadsPerLease}); keep the parameters you downloaded or request new work");
            _downloads[workUnitId] = count + 1;
            return shard;
        }
    }

    /// <summary>The shard of a live unit leased to <paramref name="v"/> when <paramref name="version"/> is current. Caller holds the lock.</summary>
    private ShardSpec CurrentLeaseShard(Storage.VolunteerRecord v, long version, string workUnitId)
    {
        if (version != _round) throw Reject(RejectReason.StaleVersion, $"version {version} was requested; the current version is {_round}");
        if (!_leases.TryGetValue(workUnitId, out var lease) || lease.VolunteerId != v.Id)
            throw Reject(RejectReason.UnleasedWorkUnit, $"work unit '{workUnitId}' is not leased to this volunteer");
        if (lease.State != "leased" || lease.DeadlineMs < NowMs())
            throw Reject(RejectReason.ExpiredLease, $"the lease on '{workUnitId}' is {(lease.State == "leased" ? "past its deadline" : lease.State)}; request new work");
        return ShardText.Parse(lease.Shard);
    }

    /// <summary>
    /// Keeps the session alive and, for a live lease, moves its deadline to at least <see cref="SilentIntervalsToExpire"/> heartbeat intervals
    /// ahead, never past <see cref="CoordinatorOptions.MaxLeaseDuration"/> after issue. Returns whether the lease is valid and its deadline.
    /// </summary>
    public (bool Valid, DateTimeOffset Deadline) Heartbeat(string sessionToken, string workUnitId)
    {
        var v = Authenticate(sessionToken);
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _lastSeen[v.Id] = now;
            if (!_leases.TryGetValue(workUnitId, out var lease) || lease.VolunteerId != v.Id || lease.State != "leased")
                return (false, default);
            if (lease.DeadlineMs < now.ToUnixTimeMilliseconds())
                return (false, DateTimeOffset.FromUnixTimeMilliseconds(lease.DeadlineMs));
            long wanted = (now + _options.HeartbeatInterval * SilentIntervalsToExpire).ToUnixTimeMilliseconds();
            long bound = lease.IssuedAtMs + (long)_options.MaxLeaseDuration.TotalMilliseconds;
            long deadline = Math.Max(lease.DeadlineMs, Math.Min(wanted, bound));
            if (deadline != lease.DeadlineMs)
            {
                FlushLeaseCommits();
                _store.SetWorkUnitDeadline(lease.Id, deadline);
                SetLease(lease with { DeadlineMs = deadline });
            }
            return (true, DateTimeOffset.FromUnixTimeMilliseconds(deadline));
        }
    }

    /// <summary>Frees a departing volunteer's leases for reissue and stops counting it as active. Caller holds the lock.</summary>
    private void Retire(string volunteerId, string why)
    {
        foreach (var lease in _leases.Values.Where(l => l.VolunteerId == volunteerId && l.State == "leased").ToList())
            ExpireLease(lease, why);
        _lastSeen.Remove(volunteerId);
    }

    private void ExpireOverdueLeases()
    {
        long now = NowMs();
        foreach (var lease in _leases.Values.Where(l => l.State == "leased" && l.DeadlineMs < now).ToList())
            ExpireLease(lease, "deadline passed");
    }

    private void ExpireLease(WorkUnitRecord lease, string why)
    {
        FlushLeaseCommits();
        _store.SetWorkUnitState(lease.Id, "expired");
        SetLease(lease with { State = "expired" });
        _downloads.Remove(lease.Id);
        Log?.Invoke($"work unit {lease.Id} expired ({why}); its shard will be reissued");
        BlindLeaseEnded(lease.Id, why);
    }

    private Dictionary<ExpertId, int> Coverage()
    {
        var coverage = new Dictionary<ExpertId, int>();
        // A unit whose update a failed spot check dropped trains nothing for this round, so it covers nothing.
        foreach (var lease in _leases.Values.Where(l => l.State != "expired" && l.Round == _round && !_checkUnits.Contains(l.Id) && !_droppedUnits.Contains(l.Id)))
        {
            foreach (var id in ShardText.Parse(lease.Shard).Experts)
                coverage[id] = coverage.GetValueOrDefault(id) + 1;
        }
        return coverage;
    }
}
