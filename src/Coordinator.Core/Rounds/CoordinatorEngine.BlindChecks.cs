using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// Blind spot checks (<see cref="CoordinatorOptions.SpotCheckMode"/> = volunteer): a drawn check's unit is leased again, as an
/// ordinary-looking unit of the round (same message, an id of the usual form, no flag), to another reputable key that did not join
/// from the checked key's address. Its update is recorded and acknowledged like any other but never aggregated (it repeats a slice
/// already in the round). The two updates are compared with the calibrated metric; on a disagreement the coordinator's own
/// recomputation decides who is wrong, so no key is banned on one volunteer's word. A check nobody leases before its round closes,
/// or whose lease ends without a result, is recomputed by the coordinator instead.
/// </summary>
public sealed partial class CoordinatorEngine
{
    private readonly List<BlindCheck> _blindWaiting = [];
    private readonly Dictionary<string, BlindCheck> _blindOut = new(StringComparer.Ordinal);
    private readonly HashSet<string> _checkUnits = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _joinSources = new(StringComparer.Ordinal);

    // Check units' blind_checks rows from their lease until its commit; read by the lease writer thread.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, BlindLeaseRow> _blindLeaseRows = new(StringComparer.Ordinal);

    /// <summary>What a check unit's blind_checks row records besides its id.</summary>
    private sealed record BlindLeaseRow(string CheckedUnitId, long UpdateSequence, string VolunteerId, string CheckerId, long Round);

    private bool BlindChecksOn => _options.SpotCheckMode == SpotCheckModes.Volunteer;

    /// <summary>Blind checks drawn and not yet decided or handed to the coordinator (waiting for a checker, or out with one).</summary>
    public int BlindChecksOutstanding
    {
        get { lock (_gate) return _blindWaiting.Count + _blindOut.Count; }
    }

    /// <summary>Whether <paramref name="workUnitId"/> is a blind check unit (tests and the dashboard; a volunteer is never told).</summary>
    public bool IsCheckUnit(string workUnitId)
    {
        lock (_gate) return _checkUnits.Contains(workUnitId);
    }

    /// <summary>Remembers the address a key joined from (in memory: after a restart a key is eligible as a checker once it joined again).</summary>
    private void NoteJoinSource(string volunteerId, string source) => _joinSources[volunteerId] = source;

    /// <summary>
    /// Volunteer mode: parks a drawn check until an eligible checker asks for work. Only a unit of the current version can be leased
    /// again as an ordinary-looking unit; a stale one (bounded staleness) goes to the coordinator. Caller holds the lock.
    /// </summary>
    private bool TryParkBlindCheck(SpotCheckJob job, WorkUnitRecord lease)
    {
        if (!BlindChecksOn || lease.Version != _round || lease.Round != _round) return false;
        _blindWaiting.Add(new BlindCheck(job, _round));
        return true;
    }

    /// <summary>
    /// A waiting check <paramref name="v"/> may train, leased to it now; null when none fits or the lease commit queue is full (the
    /// check keeps waiting). Caller holds the lock.
    /// </summary>
    private WorkUnitRecord? TryLeaseBlindCheck(VolunteerRecord v, DateTimeOffset now)
    {
        // Once the round has its quorum (or is closing) every ordinary ask is told to wait: a unit handed out then would be wasted
        // and would tell its holder it is a check. Waiting checks go to the coordinator at the close (FlushBlindChecks).
        if (_blindWaiting.Count == 0 || _closing || _accepted.Count >= _options.Quorum) return null;
        var check = _blindWaiting.FirstOrDefault(c => c.Round == _round && EligibleChecker(v, c));
        if (check is null || !_leaseCommits.TryReserve()) return null;
        _blindWaiting.Remove(check);
        // The id has the usual form with the next index of the round, as a reissued unit would; the record's unit index is the
        // checked unit's, so the data slice and seeds are exactly the checked unit's.
        var record = new WorkUnitRecord(
            UnitId(_round, "u", _nextUnitIndex++),
            _round, _round, v.Id, check.Job.Recipe.Shard, check.Job.Recipe.UnitIndex, now.ToUnixTimeMilliseconds(),
            (now + _options.LeaseDuration).ToUnixTimeMilliseconds(), "leased");
        // Committed by the lease writer like any lease (in queue order, off the lock, durable before the reply): the ledger records an
        // ordinary lease (what the checker and anyone reading the log see), and the same transaction marks it as a check unit, so it
        // is never aggregated, even after a restart.
        _blindLeaseRows[record.Id] = new BlindLeaseRow(check.Job.Update.WorkUnitId, check.Job.Update.Sequence, check.Job.Update.VolunteerId, v.Id, _round);
        check.CheckUnitId = record.Id;
        check.CheckerId = v.Id;
        _checkUnits.Add(record.Id);
        _blindOut[record.Id] = check;
        QueueLease(record);
        return record;
    }

    /// <summary>
    /// A lease's rows, written by the lease writer in the batch's transaction: a check unit's lease also writes its blind_checks row.
    /// Runs on the commit writer thread.
    /// </summary>
    private void WriteLeaseRows(WorkUnitRecord lease)
    {
        _store.AddWorkUnit(lease);
        // Taken out as it is written: a batch is never retried (a failed one withdraws its leases, BlindLeaseWithdrawn).
        if (_blindLeaseRows.TryRemove(lease.Id, out var b))
            _store.AddBlindCheck(lease.Id, b.CheckedUnitId, b.UpdateSequence, b.VolunteerId, b.CheckerId, b.Round);
    }

    /// <summary>
    /// A lease whose commit failed was withdrawn (nothing of it is in the store): if it was a check unit, the check waits for a checker
    /// again (a round close meanwhile hands it to the coordinator). Caller holds the lock.
    /// </summary>
    private void BlindLeaseWithdrawn(string leaseId)
    {
        _blindLeaseRows.TryRemove(leaseId, out _);
        if (!_blindOut.Remove(leaseId, out var check)) return;
        _checkUnits.Remove(leaseId);
        check.CheckUnitId = null;
        check.CheckerId = null;
        _blindWaiting.Add(check);
    }

    /// <summary>
    /// A checker is reputable (not on probation), is not the checked key, joined from another address (when
    /// <see cref="CoordinatorOptions.SpotCheckDistinctSource"/>; an unknown address does not qualify) and declared enough memory for
    /// the shard. Caller holds the lock.
    /// </summary>
    private bool EligibleChecker(VolunteerRecord v, BlindCheck check)
    {
        string original = check.Job.Update.VolunteerId;
        if (v.Id == original || OnProbation(v.Id)) return false;
        if (_options.SpotCheckDistinctSource &&
            (!_joinSources.TryGetValue(v.Id, out var mine) || !_joinSources.TryGetValue(original, out var theirs) || mine == theirs))
            return false;
        var shard = ShardText.Parse(check.Job.Recipe.Shard);
        int perLayer = shard.Experts.Count == 0 ? 0 : shard.Experts.GroupBy(e => e.Layer).Max(g => g.Count());
        return _planner.MemoryNeeded(perLayer) <= v.MemoryBytes;
    }

    /// <summary>
    /// The hook on an accepted update of a check unit (instead of aggregating it): hands both updates to the check worker. Its ledger
    /// entry and acknowledgement were those of any update. Caller holds the lock.
    /// </summary>
    private void DeliverBlindCheck(UpdateRecord record, WorkUnitRecord lease, IncomingPayload payload)
    {
        if (!_blindOut.Remove(lease.Id, out var check))
        {
            Log?.Invoke($"check unit {lease.Id} came back after its check was decided or handed to the coordinator (or a restart); it is not aggregated");
            return;
        }
        try
        {
            _store.SetBlindCheckState(lease.Id, CoordinatorStore.BlindCheckDone);
            var result = new CheckerResult(record, payload.Buffer.ToArray(), Recipe(lease));
            Enqueue(check.Job with { Checker = result });
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            Log?.Invoke($"blind check of {check.Job.Update.WorkUnitId} not compared ({e.Message}); the update stays accepted");
        }
    }

    /// <summary>A check unit's lease ended without a result (expired, its holder left or was banned, its round left the window). Caller holds the lock.</summary>
    private void BlindLeaseEnded(string workUnitId, string why)
    {
        if (!_blindOut.Remove(workUnitId, out var check)) return;
        FallBack(check, $"the blind check unit {workUnitId} ended without a result ({why})");
    }

    /// <summary>At a round close: checks nobody leased go to the coordinator (a unit of a past version no longer looks ordinary). Caller holds the lock.</summary>
    private void FlushBlindChecks()
    {
        foreach (var check in _blindWaiting.Where(c => c.Round < _round).ToList())
        {
            _blindWaiting.Remove(check);
            FallBack(check, $"no eligible volunteer took the blind check before round {check.Round} closed");
        }
    }

    private void FallBack(BlindCheck check, string why)
    {
        try
        {
            if (check.CheckUnitId is { } id)
            {
                FlushLeaseCommits(); // the check unit's row may still be in the lease writer's queue
                _store.SetBlindCheckState(id, CoordinatorStore.BlindCheckDone);
            }
            Enqueue(check.Job with { Fallback = why });
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            Log?.Invoke($"spot check of {check.Job.Update.WorkUnitId} not handed to the coordinator ({e.Message}); the update stays accepted");
        }
    }

    /// <summary>Queues a check job, or records it as skipped when the queue is full (never blocking). Caller holds the lock.</summary>
    private void Enqueue(SpotCheckJob job)
    {
        if (_spotCheckQueue!.TryEnqueue(job)) return;
        RecordSpotCheckLocked(Outcome(job, SpotCheckVerdict.Skipped, null,
            $"the check queue was full ({_options.SpotCheckQueueCapacity} waiting; raise --spot-check-queue-capacity or lower --spot-check-probability)"), null, null);
    }

    /// <summary>
    /// The worker's half for a returned blind check: agreement within the calibrated tolerance passes the checked update; a
    /// disagreement is settled by the coordinator's own recomputation, which judges both updates (either, both or neither may fail).
    /// </summary>
    private void RunBlindComparison(SpotCheckJob job, CheckerResult checker, CancellationToken ct)
    {
        string by = $"blind recomputation by {checker.Update.VolunteerId[..12]} ({checker.Update.WorkUnitId})";
        var agreement = UpdateDivergence.Measure(job.Claimed, checker.Claimed);
        if (Thresholds.Passes(agreement))
        {
            RecordSpotCheck(Outcome(job, SpotCheckVerdict.Passed, agreement, $"{by}: {agreement}") with
            {
                Checker = checker.Update.VolunteerId, CheckUnit = checker.Update.WorkUnitId,
            }, null, null);
            return;
        }
        // One of the two (or both) is wrong, and a volunteer's word is not enough to ban anyone: the coordinator recomputes and judges each.
        var start = job.Start ?? StartFromCheckpoint(job);
        var recomputed = Recomputation.Run(BuildRecipeUnit(job.Recipe, job.Update.VolunteerId), start, ct, _text);
        string disagreed = $"{by} disagreed ({agreement}); the coordinator's recomputation decided";
        Judge(job, start, recomputed, disagreed, checker.Update.WorkUnitId);
        var checkerJob = new SpotCheckJob(checker.Update, checker.Payload, checker.Recipe, start);
        Judge(checkerJob, start, recomputed, $"as the checker of {job.Update.WorkUnitId}: {disagreed}", checker.Update.WorkUnitId);
    }

    /// <summary>After a restart: check units are never aggregated, and checks that were out are recorded as skipped. Caller is Restore.</summary>
    private void RestoreBlindChecks()
    {
        foreach (var b in _store.BlindChecks())
        {
            _checkUnits.Add(b.CheckUnitId);
            if (b.State != CoordinatorStore.BlindCheckOut) continue;
            _store.SetBlindCheckState(b.CheckUnitId, CoordinatorStore.BlindCheckDone);
            _store.AddSpotCheck(new SpotCheckOutcome(b.UpdateSequence, b.CheckedUnitId, b.VolunteerId, SpotCheckVerdict.Skipped, double.NaN, double.NaN,
                null, 0, $"the coordinator restarted while the blind check unit {b.CheckUnitId} was out (queued checks are not re-run after a restart)", NowMs()));
        }
        _accepted.RemoveAll(u => _checkUnits.Contains(u.Record.WorkUnitId));
    }
}
