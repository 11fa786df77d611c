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

    /// <summary>Expires overdue leases and closes the round at quorum or deadline. Returns the summary if a round closed.</summary>
    public RoundSummary? Tick()
    {
        RoundSummary? summary;
        ParameterSet? toEvaluate;
        lock (_gate)
        {
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
            summary = CloseRound(out toEvaluate);
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

    /// <summary>
    /// Gathers the round's inputs, lets <see cref="RoundAggregation.Decide"/> compute the next state without touching this one, then commits:
    /// checkpoint, ledger, and only then the in-memory swap. If the checkpoint or the ledger commit fails nothing has changed, so a retry
    /// closes the same round with the same updates, exactly once. Caller holds the lock.
    /// </summary>
    private RoundSummary CloseRound(out ParameterSet? toEvaluate)
    {
        var watch = Stopwatch.StartNew();
        long round = _round;
        try
        {
            var inputs = _accepted.Select(u => new RoundInput(u.Record.VolunteerId, u.Record.Version, u.UnitIndex, u.Payload, u.Record.Tokens, u.Record.Loss, u.TrunkNorm,
                OnProbation(u.Record.VolunteerId))).ToList();
            var decision = RoundAggregation.Decide(_groups, new RoundModelState(_global, _outer, _aggregatorStates), inputs, RoundRules.From(_options));
            // Small downloads (issue 16): the new version is re-defined as the current one + decode(encoded step), on the decision's own copy.
            var step = EncodeStep(round, _global, decision.Next.Global);
            var aggregationTime = watch.Elapsed;
            var next = decision.Next;
            string checkpoint = _checkpoints.Save(round + 1, next.Global, next.Outer, AggregatorStatesForCheckpoint(next.AggregatorStates));
            var reputations = decision.ReputationDeltas.ToDictionary(d => d.Key, d => Math.Min(ReputationBook.MaxScore, _reputation.Score(d.Key) + d.Value), StringComparer.Ordinal);
            double trainLoss = decision.TrainLoss;
            var skippedGroups = decision.SkippedGroups;
            // The round's stats commit with the round (one transaction): "publish" is up to the durable checkpoint, the commit follows.
            var publishTime = watch.Elapsed;
            var stats = new Storage.RoundStatsRecord(round, skippedGroups.Count, skippedGroups, decision.UnderReplicatedGroups, aggregationTime.TotalSeconds, publishTime.TotalSeconds);
            RecordRound(round, round + 1, trainLoss, checkpoint, decision,
                () => _store.AdvanceRound(round, NowMs(), double.IsNaN(trainLoss) ? null : trainLoss, null, checkpoint, round + 1, reputations, stats));
            // Committed: from here on nothing can fail half-way.
            Commit(decision, reputations);
            CommitStep(step);

            toEvaluate = _options.EvalBatches > 0 ? _global.Clone() : null;
            if (decision.UnderReplicatedGroups > 0)
                Log?.Invoke($"round {round}: {decision.UnderReplicatedGroups} expert groups had fewer than --replication {_options.Replication} holders " +
                            "(more volunteers, more memory per volunteer or a larger quorum raise coverage)");
            if (skippedGroups.Count > 0)
                Log?.Invoke($"round {round}: not updated (too few holders for a robust aggregate): {string.Join(", ", skippedGroups)}");
            if (decision.Groups.Sum(g => g.ProbationLeftOut) is > 0 and var leftOut)
                Log?.Invoke($"round {round}: {leftOut} expert inputs of keys on probation left out (beyond --probation-slots {_options.ProbationSlots} per expert group)");
            var summary = new RoundSummary(round, _round, _accepted.Count, trainLoss, null, skippedGroups.Count, aggregationTime)
            {
                PublishTime = publishTime,
                UnderReplicatedGroups = decision.UnderReplicatedGroups,
                SkippedGroupNames = skippedGroups,
            };
            ResetRoundState();
            _checkpoints.Prune(keepFrom: _round - 2);
            PruneUpdatePayloads();
            return summary;
        }
        catch (Exception e)
        {
            // Nothing in memory changed before the commit; the round stays open with the same accepted updates and is retried.
            Log?.Invoke($"STORAGE FAILURE: closing round {round} failed ({e.Message}); nothing was committed and the close will be retried. " +
                        "Free disk space or move the data directory; the coordinator keeps serving.");
            throw;
        }
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
        // Leases of the last MaxStaleness rounds stay valid until their deadlines (bounded staleness); older ones go, and so does
        // their 'leased' state in the store.
        foreach (var old in _leases.Values.Where(l => _round - l.Round > _options.MaxStaleness).Select(l => l.Id).ToList())
        {
            RemoveLease(old);
            _downloads.Remove(old);
            BlindLeaseEnded(old, $"its round left the staleness window of --max-staleness {_options.MaxStaleness}");
        }
        FlushBlindChecks();
        _store.ExpireLeasesBefore(_round - _options.MaxStaleness);
        _nextUnitIndex = 0;
        _roundDeadline = _time.GetUtcNow() + _options.RoundTimeout;
    }
}
