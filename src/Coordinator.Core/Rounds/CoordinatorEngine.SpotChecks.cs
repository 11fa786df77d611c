using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// Spot checks: after an update is accepted, a CSPRNG draw (probability higher on probation) queues a recomputation of its unit
/// on the coordinator's own trainer, off the lock; a disagreement beyond the calibrated tolerance keeps an evidence file, bans the
/// key and drops its updates that are not aggregated yet. Every outcome goes through <see cref="RecordSpotCheck"/>.
/// </summary>
public sealed partial class CoordinatorEngine
{
    /// <summary>Folder (under the data directory) of failed checks' evidence files.</summary>
    public const string EvidenceFolder = "evidence";

    private readonly Dictionary<string, int> _spotCheckPasses = new(StringComparer.Ordinal);

    // Units of the open round whose accepted update a failed check dropped: they hold no place in the round (PickParticipants), so
    // the slot they free can be leased again. Cleared when the round closes. Under the lock.
    private readonly HashSet<string> _droppedUnits = new(StringComparer.Ordinal);
    private SpotCheckQueue? _spotCheckQueue;

    // DeterministicPlanning only (simulations, tests): the draw from a seeded stream of its own, so planner draws do not shift it.
    private Random? _seededSpotCheckDraw;

    // Keeps the spot-check stream apart from the planner's stream of the same seed.
    private const int SpotCheckSeedSalt = 0x5C0C4E;

    /// <summary>
    /// Raised on the check worker (outside the lock) once a check that ran is durable: passed, failed or not computable. A check
    /// skipped because the queue was full is decided under the submit path's lock and only recorded in the store.
    /// </summary>
    public event Action<SpotCheckOutcome>? SpotCheckDecided;

    /// <summary>Spot checks queued or running.</summary>
    public int PendingSpotChecks => (_spotCheckQueue?.Pending ?? 0) + BlindChecksOutstanding;

    private SpotCheckThresholds Thresholds => new(_options.SpotCheckMaxRelativeL2, _options.SpotCheckMinCosine);

    private bool SpotChecksOn => _options.SpotCheckProbability > 0 || _options.SpotCheckProbationProbability > 0;

    private void StartSpotChecks()
    {
        if (SpotChecksOn) _spotCheckQueue = new SpotCheckQueue(_options.SpotCheckQueueCapacity, RunSpotCheck, SpotCheckCrashed);
        if (_options.DeterministicPlanning) _seededSpotCheckDraw = new Random(unchecked((int)_options.Seed ^ SpotCheckSeedSalt));
    }

    /// <summary>
    /// Waits until every drawn check is decided and recorded (true), or <paramref name="timeout"/> passes (false). For simulations on a
    /// virtual clock, which must see a verdict (and its ban) before their next event; a serving coordinator never waits for its checks.
    /// </summary>
    public bool WaitForSpotChecks(TimeSpan timeout) => _spotCheckQueue?.WaitIdle(timeout) ?? true;

    private void StopSpotChecks() => _spotCheckQueue?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>With spot checks on, a key also needs <see cref="CoordinatorOptions.SpotCheckProbationPasses"/> passed checks to leave probation. Caller holds the lock.</summary>
    private bool PassedEnoughSpotChecks(string volunteerId) =>
        !SpotChecksOn || _spotCheckPasses.GetValueOrDefault(volunteerId) >= _options.SpotCheckProbationPasses;

    /// <summary>
    /// The hook on an accepted update: draws whether to check it and, if so, queues the check with what it needs (the start
    /// parameters are copied now when the unit trained from the current version). Never throws and never waits. Caller holds the lock.
    /// </summary>
    private void ConsiderSpotCheck(UpdateRecord record, WorkUnitRecord lease, IncomingPayload payload, ShardSpec shard)
    {
        if (_spotCheckQueue is null) return;
        try
        {
            double p = OnProbation(record.VolunteerId) ? _options.SpotCheckProbationProbability : _options.SpotCheckProbability;
            if (!SpotCheckDraw.Draw(p, _seededSpotCheckDraw)) return;
            var start = lease.BaseUnitId is not null ? EagerStart(lease, shard) : lease.Version == _round ? Shards.Extract(_global, shard) : null;
            // The payload's buffer is pooled and goes back after the submission: a drawn check keeps its own copy for the evidence
            // (and decodes its claim from it on the check worker, off the lock).
            var job = new SpotCheckJob(record, payload.Buffer.ToArray(), Recipe(lease), start);
            if (TryParkBlindCheck(job, lease)) return;
            Enqueue(job);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidDataException or Protocol.Errors.ProtocolException)
        {
            Log?.Invoke($"spot check of {record.WorkUnitId} not queued ({e.Message}); the update stays accepted");
        }
    }

    /// <summary>The worker: recomputes the unit, compares, and on a disagreement writes the evidence before recording it.</summary>
    private void RunSpotCheck(SpotCheckJob job, CancellationToken ct)
    {
        if (job.Checker is { } checker)
        {
            RunBlindComparison(job, checker, ct);
            return;
        }
        var start = job.Start ?? StartFromCheckpoint(job);
        var recomputed = Recomputation.Run(BuildRecipeUnit(job.Recipe, job.Update.VolunteerId), start, ct, _text);
        Judge(job, start, recomputed, job.Fallback.Length > 0 ? $"recomputed by the coordinator because {job.Fallback}" : "", null);
    }

    /// <summary>The recipe of a leased unit, with the data the unit factory gives it (a check unit's record has the checked unit's index, so its data).</summary>
    private UnitRecipe Recipe(WorkUnitRecord lease) =>
        UnitRecipe.From(_options, lease, _units.Data(WorkUnitFactory.SliceSeed(_options.Seed, lease.Round, lease.UnitIndex)));

    /// <summary>The unit a recipe names (its data and seeds come from the recipe's round and unit index).</summary>
    private WorkUnit BuildRecipeUnit(UnitRecipe recipe, string volunteerId) =>
        _units.Build(new WorkUnitRecord(recipe.WorkUnitId, recipe.Round, recipe.Version, volunteerId, recipe.Shard, recipe.UnitIndex, 0, 0, "completed"));

    /// <summary>Compares a claimed update with the coordinator's recomputation; a disagreement writes the evidence before it is recorded.</summary>
    private void Judge(SpotCheckJob job, ParameterSet start, ParameterSet recomputed, string context, string? checkUnit)
    {
        var divergence = UpdateDivergence.Measure(job.Claimed, recomputed);
        string detail = context.Length > 0 ? $"{context}: {divergence}" : divergence.ToString();
        if (Thresholds.Passes(divergence))
        {
            RecordSpotCheck(Outcome(job, SpotCheckVerdict.Passed, divergence, detail) with { CheckUnit = checkUnit }, null, null);
            return;
        }
        string relative = Path.Combine(EvidenceFolder, $"{job.Update.WorkUnitId}.evidence");
        // A real-text unit's slice goes into the evidence, so anyone can re-run the check without the coordinator's corpus.
        byte[] slice = job.Recipe.Data is { Kind: Hivemind.Data.DataKind.TokenSlice } text ? Recomputation.SliceBytes(text, _text) : [];
        new SpotCheckEvidence(job.Recipe, job.Update.VolunteerId, job.Update.Sequence, Thresholds, divergence, NowMs(),
            job.Update.Envelope, job.Update.Signature, job.Payload, start, recomputed) { Slice = slice }.Write(Path.Combine(_options.DataDirectory, relative));
        RecordSpotCheck(Outcome(job, SpotCheckVerdict.Failed, divergence, detail) with { EvidencePath = relative, CheckUnit = checkUnit },
            job.Update.Envelope, job.Update.Signature);
    }

    private ParameterSet StartFromCheckpoint(SpotCheckJob job)
    {
        string path = _checkpoints.ParametersPath(job.Recipe.Version);
        if (!File.Exists(path))
            throw new InvalidDataException($"the checkpoint of version {job.Recipe.Version} ({path}) was pruned before the check ran");
        return Shards.Extract(SafeTensors.Read(path), ShardText.Parse(job.Recipe.Shard));
    }

    private void SpotCheckCrashed(SpotCheckJob job, Exception e)
    {
        try
        {
            RecordSpotCheck(Outcome(job, SpotCheckVerdict.Error, null, $"{e.GetType().Name}: {e.Message}"), null, null);
        }
        catch (Exception again) when (again is Microsoft.Data.Sqlite.SqliteException or IOException or ObjectDisposedException)
        {
            Log?.Invoke($"spot check of {job.Update.WorkUnitId} failed to run ({e.Message}) and could not be recorded ({again.Message})");
        }
    }

    private SpotCheckOutcome Outcome(SpotCheckJob job, SpotCheckVerdict verdict, UpdateDivergence? d, string detail) =>
        new(job.Update.Sequence, job.Update.WorkUnitId, job.Update.VolunteerId, verdict, d?.WorstRelativeL2 ?? double.NaN, d?.WorstCosine ?? double.NaN,
            null, 0, detail, NowMs());

    /// <summary>
    /// The one place a spot-check outcome takes effect: it is stored durably; a pass counts towards leaving probation; a failure
    /// drops the key's updates not yet aggregated (every round inside the staleness window feeds the open round), keeps the signed
    /// envelope as evidence and bans the key. Then <see cref="SpotCheckDecided"/> is raised.
    /// </summary>
    private void RecordSpotCheck(SpotCheckOutcome outcome, byte[]? envelope, byte[]? signature)
    {
        lock (_gate) outcome = RecordSpotCheckLocked(outcome, envelope, signature);
        SpotCheckDecided?.Invoke(outcome);
    }

    private SpotCheckOutcome RecordSpotCheckLocked(SpotCheckOutcome outcome, byte[]? envelope, byte[]? signature)
    {
        WaitWhileClosing(); // a failed check drops updates from the open round: after a close that reads them, as before
        string id = outcome.VolunteerId;
        if (outcome.Verdict == SpotCheckVerdict.Failed)
        {
            _droppedUnits.UnionWith(_accepted.Where(u => u.Record.VolunteerId == id).Select(u => u.Record.WorkUnitId));
            outcome = outcome with { DroppedUpdates = _accepted.RemoveAll(u => u.Record.VolunteerId == id) };
        }
        var checkedOutcome = outcome;
        if (outcome.Verdict is SpotCheckVerdict.Passed or SpotCheckVerdict.Failed)
        {
            // A check that ran is a decision: its row and its ledger entry commit together (audit voids a failed unit's credit).
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["max_relative_l2"] = outcome.MaxRelativeL2,
                ["min_cosine"] = outcome.MinCosine,
            };
            _ledger.Record(() => _store.AddSpotCheck(checkedOutcome), Hivemind.Coordinator.Ledger.LedgerEntries.SpotCheck(
                id, outcome.WorkUnitId, outcome.UpdateSequence, outcome.Verdict == SpotCheckVerdict.Passed, outcome.Checker, metrics, outcome.AtMs, outcome.CheckUnit));
        }
        else
        {
            _store.AddSpotCheck(outcome);
        }
        switch (outcome.Verdict)
        {
            case SpotCheckVerdict.Passed:
                _spotCheckPasses[id] = _spotCheckPasses.GetValueOrDefault(id) + 1;
                break;
            case SpotCheckVerdict.Failed:
                BanLocked(id, $"failed spot check of {outcome.WorkUnitId} ({outcome.Detail}); evidence {outcome.EvidencePath}", envelope ?? [], signature ?? []);
                Log?.Invoke($"banned volunteer {id[..12]}: its update for {outcome.WorkUnitId} failed a spot check ({outcome.Detail}); " +
                            $"{outcome.DroppedUpdates} of its updates dropped from round {_round}; evidence in {outcome.EvidencePath}");
                break;
            case SpotCheckVerdict.Skipped:
            case SpotCheckVerdict.Error:
                Log?.Invoke($"spot check of {outcome.WorkUnitId} {outcome.Verdict.ToString().ToLowerInvariant()}: {outcome.Detail}");
                break;
        }
        return outcome;
    }

    /// <summary>After a restart: passed checks count again, and updates of keys banned by a check are not aggregated. Caller is Restore.</summary>
    private void RestoreSpotChecks()
    {
        foreach (var (id, passes) in _store.PassedSpotChecks()) _spotCheckPasses[id] = passes;
        var banned = _accepted.Select(u => u.Record.VolunteerId).Distinct().Where(id => _store.GetVolunteer(id)?.Banned == true).ToHashSet(StringComparer.Ordinal);
        _droppedUnits.UnionWith(_accepted.Where(u => banned.Contains(u.Record.VolunteerId)).Select(u => u.Record.WorkUnitId));
        _accepted.RemoveAll(u => banned.Contains(u.Record.VolunteerId));
        RestoreBlindChecks();
    }
}
