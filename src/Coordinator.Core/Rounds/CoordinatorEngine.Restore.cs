using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Envelopes;

namespace Hivemind.Coordinator.Rounds;

/// <summary>Restore: the last durable state after a restart.</summary>
public sealed partial class CoordinatorEngine
{
    private void Restore()
    {
        // Partial uploads of a previous process are never part of any state: clear them.
        string incoming = Path.Combine(_options.DataDirectory, "incoming");
        if (Directory.Exists(incoming))
            foreach (var leftover in Directory.EnumerateFiles(incoming)) TryDelete(leftover);

        var rounds = _store.Rounds();
        if (rounds.Count == 0)
        {
            _round = 0;
            _checkpoints.Save(0, _global, _outer, AggregatorStatesForCheckpoint(_aggregatorStates));
            _store.OpenRound(0, 0, NowMs());
            ResetRoundState();
            return;
        }
        var current = rounds[^1];
        _round = current.Round;
        var (parameters, outerState, pipelineStates) = _checkpoints.Load(current.Version);
        _global = parameters;
        _outer = Training.OuterOptimizer.LoadState(outerState);
        foreach (var (key, state) in pipelineStates)
        {
            if (!_aggregatorStates.ContainsKey(key) || state is not { Length: > 0 }) continue;
            // Importing into a throwaway pipeline checks the state fits the configured rule (it throws for a checkpoint of another rule).
            Aggregation.AggregationPipeline.Parse(Closing.RoundRules.From(_options).RuleFor(key)).ImportState(state);
            _aggregatorStates[key] = state;
        }
        _lastEvalLoss = rounds.LastOrDefault(r => r.EvalLoss is not null)?.EvalLoss;
        ResetRoundState();
        foreach (var v in _store.Volunteers()) _reputation.Load(v.Id, v.Reputation);
        foreach (var (hash, volunteerId) in _store.Sessions()) _sessions.Add(hash, volunteerId);
        // The next round too: eager units leased ahead (CoordinatorEngine.Eager).
        for (long r = Math.Max(0, _round - _options.MaxStaleness); r <= _round + 1; r++)
        {
            foreach (var w in _store.WorkUnits(r))
            {
                SetLease(w);
                if (r == _round) _nextUnitIndex = Math.Max(_nextUnitIndex, w.UnitIndex + 1);
                if (r == _round + 1) _nextEagerIndex = Math.Max(_nextEagerIndex, w.UnitIndex + 1);
            }
        }
        foreach (var u in _store.Updates(_round))
        {
            var envelope = ParseEnvelope(u.Envelope);
            var shard = ShardText.FromEnvelope(envelope);
            int index = _store.GetWorkUnit(u.WorkUnitId)?.UnitIndex ?? int.MaxValue;
            // The same check as on submission; the update stays in its wire form until its round closes.
            byte[] payload = File.ReadAllBytes(Resolve(u.PayloadPath));
            var norms = _verifier.CheckWire(payload, payload.LongLength, n => n, shard, _units.Codec);
            _norms.Record(u.VolunteerId, norms); // the running bound's history: what this process can recompute (NormHistory)
            _accepted.Add(new AcceptedUpdate(u, shard, index, norms.GetValueOrDefault(TensorGroups.Trunk)));
        }
        RestoreSpotChecks();
        Log?.Invoke($"restored round {_round} from {_options.DataDirectory}: {_accepted.Count} accepted updates, {_leases.Count} work units");
    }
}
