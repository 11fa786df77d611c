using System.Diagnostics;
using Hivemind.Aggregation;
using Hivemind.Coordinator.Reputation;
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
        SaveRoundStats(summary);
        RoundClosed?.Invoke(summary);
        return summary;
    }

    /// <summary>
    /// Aggregates, steps and commits. Everything the close changes in memory (model, optimizer and aggregator state, round) is put back
    /// if the checkpoint or the ledger commit fails, so a retry closes the same round with the same updates, exactly once.
    /// Caller holds the lock.
    /// </summary>
    private RoundSummary CloseRound(out ParameterSet? toEvaluate)
    {
        var watch = Stopwatch.StartNew();
        long round = _round;
        var globalBefore = _global.Clone();
        byte[] outerBefore = _outer.SaveState();
        var pipelinesBefore = _pipelines.ToDictionary(p => p.Key, p => p.Value.ExportState());

        var delta = new ParameterSet();
        var skippedGroups = new List<string>();
        int underReplicated = 0;
        var outliers = new HashSet<string>(StringComparer.Ordinal);
        // Aggregate in work-unit order, not arrival order: the result is then the same however the network
        // interleaved the uploads (floating-point sums depend on order), so runs are reproducible.
        var ordered = _accepted.OrderBy(u => u.Record.Version).ThenBy(u => u.UnitIndex).ToList();
        foreach (var key in _groups.Keys)
        {
            var contributors = ordered.Where(u => key == TensorGroups.Trunk || u.Payload.Contains(_groups.NamesOf(key)[0])).ToList();
            if (contributors.Count == 0) continue;
            if (key != TensorGroups.Trunk && contributors.Count < _options.Replication) underReplicated++;
            if (key != TensorGroups.Trunk && contributors.Count < _options.MinExpertHolders)
            {
                // A robust rule over fewer inputs than it needs is no rule (the median of two is their mean): leave the group as it is.
                skippedGroups.Add($"{key} ({contributors.Count} of {_options.MinExpertHolders} holders)");
                continue;
            }
            var inputs = contributors.Select(u => (ReadOnlyMemory<float>)_groups.Flatten(key, u.Payload)).ToList();
            // Weights are the units' token counts, which the coordinator sets (equal for every unit), never a volunteer's claim.
            var weights = contributors.Select(u => (double)u.Record.Tokens).ToList();
            AggregationOutcome outcome;
            try
            {
                outcome = _pipelines[key].Aggregate(inputs, weights);
            }
            catch (AggregationConfigException e)
            {
                // Too few holders for a robust rule: leave this group as it is rather than trust fewer inputs.
                skippedGroups.Add($"{key} ({e.Message})");
                continue;
            }
            foreach (var t in _groups.Unflatten(key, outcome.Result)) delta.Add(t);
            var ratios = ReputationBook.DistanceRatios(inputs, outcome.Result);
            for (int i = 0; i < contributors.Count; i++)
                if (ratios[i] > ReputationBook.OutlierRatio) outliers.Add(contributors[i].Record.VolunteerId);
        }
        try
        {
            if (delta.Count > 0) _outer.Step(_global, delta);
            var aggregationTime = watch.Elapsed;

            double trainLoss = _accepted.Count == 0 ? double.NaN
                : _accepted.Sum(u => u.Record.Loss * u.Record.Tokens) / _accepted.Sum(u => (double)u.Record.Tokens);
            long next = round + 1;
            string checkpoint = _checkpoints.Save(next, _global, _outer, _pipelines.ToDictionary(p => p.Key, p => (float[]?)p.Value.ExportState()));

            // Reputation: useful work earns a little; an outlier or an update with (next to) no progress earns nothing. Distance from the
            // aggregate never costs reputation, so colluders who agree with each other cannot push an honest key towards a ban.
            double medianTrunk = Median(_accepted.Select(u => u.TrunkNorm));
            var reputations = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var u in _accepted)
            {
                string id = u.Record.VolunteerId;
                bool useful = !outliers.Contains(id) && u.TrunkNorm >= ReputationBook.MinProgressFraction * medianTrunk;
                reputations[id] = Math.Min(ReputationBook.MaxScore, _reputation.Score(id) + (useful ? ReputationBook.Reward : 0));
            }
            _store.AdvanceRound(round, NowMs(), double.IsNaN(trainLoss) ? null : trainLoss, null, checkpoint, next, reputations);
            // Committed: from here on nothing can fail half-way.
            _round = next;
            foreach (var (id, score) in reputations) _reputation.Load(id, score);
            var publishTime = watch.Elapsed; // the new version is durable and served from here on

            toEvaluate = _options.EvalBatches > 0 ? _global.Clone() : null;
            if (underReplicated > 0)
                Log?.Invoke($"round {round}: {underReplicated} expert groups had fewer than --replication {_options.Replication} holders " +
                            "(more volunteers, more memory per volunteer or a larger quorum raise coverage)");
            if (skippedGroups.Count > 0)
                Log?.Invoke($"round {round}: not updated (too few holders for a robust aggregate): {string.Join(", ", skippedGroups)}");
            var summary = new RoundSummary(round, _round, _accepted.Count, trainLoss, null, skippedGroups.Count, aggregationTime)
            {
                PublishTime = publishTime,
                UnderReplicatedGroups = underReplicated,
                SkippedGroupNames = skippedGroups,
            };
            ResetRoundState();
            _checkpoints.Prune(keepFrom: _round - 2);
            PruneUpdatePayloads();
            return summary;
        }
        catch (Exception e)
        {
            // Put back what the close changed in memory; the round stays open with the same accepted updates and is retried.
            _global = globalBefore;
            _outer = OuterOptimizer.LoadState(outerBefore);
            foreach (var (key, state) in pipelinesBefore)
                if (state.Length > 0) _pipelines[key].ImportState(state);
            Log?.Invoke($"STORAGE FAILURE: closing round {round} failed ({e.Message}); nothing was committed and the close will be retried. " +
                        "Free disk space or move the data directory; the coordinator keeps serving.");
            throw;
        }
    }

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

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
    }

    private void ResetRoundState()
    {
        _accepted.Clear();
        // Leases of the last MaxStaleness rounds stay valid until their deadlines (bounded staleness); older ones go, and so does
        // their 'leased' state in the store.
        foreach (var old in _leases.Values.Where(l => _round - l.Round > _options.MaxStaleness).Select(l => l.Id).ToList())
        {
            _leases.Remove(old);
            _downloads.Remove(old);
        }
        _store.ExpireLeasesBefore(_round - _options.MaxStaleness);
        _nextUnitIndex = 0;
        _roundDeadline = _time.GetUtcNow() + _options.RoundTimeout;
    }
}
