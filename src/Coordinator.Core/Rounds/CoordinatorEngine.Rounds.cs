using System.Diagnostics;
using Hivemind.Coordinator.Reputation;
using Hivemind.Coordinator.Rounds.Closing;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>Round closing: aggregation per tensor group, the outer step, then one commit (checkpoint and ledger) or none.</summary>
public sealed partial class CoordinatorEngine
{
    /// <summary>Waits until an update arrives or <paramref name="timeout"/> passes (the host's loop calls <see cref="Tick"/> after).</summary>
    public async Task WaitForActivityAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var wait = _signal.WaitAsync(cts.Token);
        var delay = Task.Delay(timeout, _time, cts.Token);
        await Task.WhenAny(wait, delay);
        await cts.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Expires overdue leases and closes the round at quorum or deadline. Returns the summary if a round closed. The aggregation, the
    /// outer step and the checkpoint's write run outside the engine's lock (<see cref="_closing"/> freezes what they read), so leases,
    /// heartbeats and downloads are served while a round closes; only the commit and the in-memory swap hold the lock.
    /// </summary>
    public RoundSummary? Tick()
    {
        ClosingRound closing;
        lock (_gate)
        {
            // Another caller is closing this round: wait for its commit (as the lock made callers wait before), then look again.
            while (_closing) Monitor.Wait(_gate);
            ExpireOverdueLeases();
            if (Finished) return null;
            var now = _time.GetUtcNow();
            bool quorum = _accepted.Count >= _options.Quorum;
            bool deadline = now >= _roundDeadline;
            if (!quorum && deadline && _accepted.Count < _options.MinUpdates)
            {
                _roundDeadline = now + _options.RoundTimeout;
                Log?.Invoke($"round {_round} reached its deadline with {_accepted.Count} of {_options.MinUpdates} needed updates; extended to {_roundDeadline:HH:mm:ss}");
                return null;
            }
            if (!quorum && !deadline) return null;
            closing = BeginClose();
        }
        RoundSummary summary;
        ParameterSet? toEvaluate;
        try
        {
            RoundDeciding?.Invoke(closing.Round);
            var decided = DecideClose(closing);
            lock (_gate) summary = CommitClose(closing, decided, out toEvaluate);
        }
        catch (Exception e)
        {
            // Nothing in memory changed before the commit; the round stays open with the same accepted updates and is retried.
            Log?.Invoke($"STORAGE FAILURE: closing round {closing.Round} failed ({e.Message}); nothing was committed and the close will be retried. " +
                        "Free disk space or move the data directory; the coordinator keeps serving.");
            throw;
        }
        finally
        {
            lock (_gate)
            {
                _closing = false;
                Monitor.PulseAll(_gate);
            }
        }
        // Evaluation runs after the new version is published and outside the lock: volunteers can already
        // lease and submit for the next round while the held-out loss of this one is measured.
        if (toEvaluate is not null)
        {
            double eval = _units.Evaluate(toEvaluate);
            _store.SetEvalLoss(summary.Round, eval);
            lock (_gate) _lastEvalLoss = eval;
            summary = summary with { EvalLoss = eval };
        }
        RoundClosed?.Invoke(summary);
        return summary;
    }

    /// <summary>Raised outside the lock when a round's close starts deciding (before aggregation); tests hold a close open with it.</summary>
    public event Action<long>? RoundDeciding;

    /// <summary>
    /// Waits (releasing the lock) while a round is being closed outside the lock: callers that change what the close reads (the accepted
    /// updates) go after it, as they went after it when the whole close held the lock. Caller holds the lock.
    /// </summary>
    private void WaitWhileClosing()
    {
        if (!_closing) return;
        WaitingForRoundClose?.Invoke();
        while (_closing) Monitor.Wait(_gate);
    }

    /// <summary>Raised under the lock when a change (an accepted update, a spot check's outcome) starts waiting for a deciding round close; keep handlers trivial.</summary>
    public event Action? WaitingForRoundClose;

    /// <summary>What a close reads, taken under the lock; <see cref="_closing"/> keeps it unchanged until the commit. Caller holds the lock.</summary>
    private ClosingRound BeginClose()
    {
        _closing = true;
        var accepted = _accepted.ToList();
        var probation = accepted.Select(u => OnProbation(u.Record.VolunteerId)).ToList();
        return new ClosingRound(_round, accepted, probation, new RoundModelState(_global, _outer, _aggregatorStates));
    }

    /// <summary>
    /// The close's inputs: each accepted update decoded from its durable payload file (verified when it was accepted; the same
    /// decoder a restart uses), several at once. Updates are held in wire form until now, so an open round keeps no floats and the
    /// submit path writes none. Outside the lock.
    /// </summary>
    private List<RoundInput> DecodeInputs(ClosingRound closing, ParallelOptions? parallelism)
    {
        var payloads = new ParameterSet[closing.Accepted.Count];
        // Under the close's parallelism budget (CoordinatorOptions.CloseParallelism), like the aggregation and the checkpoint.
        Parallel.For(0, payloads.Length, parallelism ?? new ParallelOptions(), i =>
        {
            var u = closing.Accepted[i];
            payloads[i] = _verifier.Decode(Resolve(u.Record.PayloadPath), u.Shard, _units.Codec);
        });
        return closing.Accepted.Select((u, i) => new RoundInput(u.Record.VolunteerId, u.Record.Version, u.UnitIndex, payloads[i], u.Record.Tokens, u.Record.Loss,
            u.TrunkNorm, closing.OnProbation[i])).ToList();
    }

    /// <summary>
    /// The close's work that needs no lock: <see cref="RoundAggregation.Decide"/> computes the next state without touching this one, the
    /// step for small downloads is encoded, and the next version's checkpoint is written and flushed (a file named by the new version,
    /// which nothing reads before the commit names it).
    /// </summary>
    private DecidedRound DecideClose(ClosingRound closing)
    {
        var watch = Stopwatch.StartNew();
        var rules = RoundRules.From(_options);
        // Part of the publish time, not of the aggregation time: the updates were held in wire form until now.
        var inputs = DecodeInputs(closing, rules.Parallelism);
        var decodeTime = watch.Elapsed;
        var decision = RoundAggregation.Decide(_groups, closing.State, inputs, rules);
        // Small downloads (issue 16): the new version is re-defined as the current one + decode(encoded step), on the decision's own copy.
        var step = EncodeStep(closing.Round, closing.State.Global, decision.Next.Global);
        var aggregationTime = watch.Elapsed - decodeTime;
        var next = decision.Next;
        string checkpoint = _checkpoints.Save(closing.Round + 1, next.Global, next.Outer, AggregatorStatesForCheckpoint(next.AggregatorStates),
            rules.Parallelism);
        // "Publish" is up to the durable checkpoint; the ledger commit follows under the lock.
        return new DecidedRound(decision, step, checkpoint, aggregationTime, watch.Elapsed);
    }

    /// <summary>
    /// Commits a decided round: the ledger and the store in one transaction, then the in-memory swap. If the commit fails nothing has
    /// changed, so a retry closes the same round with the same updates, exactly once. Caller holds the lock.
    /// </summary>
    private RoundSummary CommitClose(ClosingRound closing, DecidedRound decided, out ParameterSet? toEvaluate)
    {
        long round = closing.Round;
        var decision = decided.Decision;
        var reputations = decision.ReputationDeltas.ToDictionary(d => d.Key, d => Math.Min(ReputationBook.MaxScore, _reputation.Score(d.Key) + d.Value), StringComparer.Ordinal);
        double trainLoss = decision.TrainLoss;
        var skippedGroups = decision.SkippedGroups;
        // The round's stats commit with the round (one transaction).
        var stats = new Storage.RoundStatsRecord(round, skippedGroups.Count, skippedGroups, decision.UnderReplicatedGroups, decided.AggregationTime.TotalSeconds, decided.PublishTime.TotalSeconds);
        FlushLeaseCommits(); // every lease of the closing round is in the ledger before the round's entry
        RecordRound(round, round + 1, trainLoss, decided.Checkpoint, decision, closing.Accepted,
            () => _store.AdvanceRound(round, NowMs(), double.IsNaN(trainLoss) ? null : trainLoss, null, decided.Checkpoint, round + 1, reputations, stats));
        // Committed: from here on nothing can fail half-way.
        Commit(decision, reputations);
        CommitStep(decided.Step);

        toEvaluate = _options.EvalBatches > 0 ? _global.Clone() : null;
        if (decision.UnderReplicatedGroups > 0)
            Log?.Invoke($"round {round}: {decision.UnderReplicatedGroups} expert groups had fewer than --replication {_options.Replication} holders " +
                        "(more volunteers, more memory per volunteer or a larger quorum raise coverage)");
        if (skippedGroups.Count > 0)
            Log?.Invoke($"round {round}: not updated (too few holders for a robust aggregate): {string.Join(", ", skippedGroups)}");
        if (decision.Groups.Sum(g => g.ProbationLeftOut) is > 0 and var leftOut)
            Log?.Invoke($"round {round}: {leftOut} expert inputs of keys on probation left out (beyond --probation-slots {_options.ProbationSlots} per expert group)");
        var summary = new RoundSummary(round, _round, closing.Accepted.Count, trainLoss, null, skippedGroups.Count, decided.AggregationTime)
        {
            PublishTime = decided.PublishTime,
            UnderReplicatedGroups = decision.UnderReplicatedGroups,
            SkippedGroupNames = skippedGroups,
        };
        ResetRoundState();
        _checkpoints.Prune(keepFrom: _round - 2);
        PruneUpdatePayloads();
        return summary;
    }

    /// <summary>Swaps in a decided and durably committed round. Caller holds the lock.</summary>
    private void Commit(RoundDecision decision, IReadOnlyDictionary<string, double> reputations)
    {
        _global = decision.Next.Global;
        _outer = decision.Next.Outer;
        _aggregatorStates = new Dictionary<string, float[]>(decision.Next.AggregatorStates, StringComparer.Ordinal);
        _round++;
        foreach (var (id, score) in reputations) _reputation.Load(id, score);
    }

    private static Dictionary<string, float[]?> AggregatorStatesForCheckpoint(IReadOnlyDictionary<string, float[]> states) =>
        states.ToDictionary(s => s.Key, s => (float[]?)s.Value, StringComparer.Ordinal);

    /// <summary>
    /// Deletes the payload folders of units that can no longer reach an open round (older than the staleness window): their
    /// updates are in a durable checkpoint. Ledger rows (with the signed envelopes, the evidence) stay. Caller holds the lock.
    /// </summary>
    private void PruneUpdatePayloads()
    {
        string root = Path.Combine(_options.DataDirectory, "updates");
        if (!Directory.Exists(root)) return;
        long keepFrom = _round - _options.MaxStaleness;
        foreach (var dir in Directory.EnumerateDirectories(root, "r*"))
        {
            if (!long.TryParse(Path.GetFileName(dir).AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long r) || r >= keepFrom)
                continue;
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log?.Invoke($"could not prune {dir} ({e.Message}); it is retried after the next round");
            }
        }
    }

    private void ResetRoundState()
    {
        _accepted.Clear();
        _droppedUnits.Clear();
        // Leases of the last MaxStaleness rounds stay valid until their deadlines (bounded staleness); older ones go, and so does
        // their 'leased' state in the store.
        foreach (var old in _leases.Values.Where(l => _round - l.Version > _options.MaxStaleness).Select(l => l.Id).ToList())
        {
            RemoveLease(old);
            _downloads.Remove(old);
            BlindLeaseEnded(old, $"its round left the staleness window of --max-staleness {_options.MaxStaleness}");
        }
        FlushBlindChecks();
        _store.ExpireLeasesBefore(_round - _options.MaxStaleness);
        // Eager units leased ahead (CoordinatorEngine.Eager) took the new round's first indexes.
        _nextUnitIndex = _nextEagerIndex;
        _nextEagerIndex = 0;
        _roundDeadline = _time.GetUtcNow() + _options.RoundTimeout;
    }
}
