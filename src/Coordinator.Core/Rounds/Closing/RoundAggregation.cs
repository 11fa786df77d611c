using Hivemind.Aggregation;
using Hivemind.Coordinator.Reputation;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds.Closing;

/// <summary>
/// The round close as a pure function: (model state, accepted updates, rules) → (next model state, per-group results, reputation
/// deltas). It reads no clock, store or field and changes none of its inputs, so each rule can be checked alone and the engine's
/// commit is all-or-nothing by construction (it swaps in <see cref="RoundDecision.Next"/> only after the checkpoint is durable).
/// </summary>
public static class RoundAggregation
{
    /// <summary>Aggregates each tensor group with its robust rule, applies the outer step to a copy of the model and scores the contributors.</summary>
    /// <exception cref="ArgumentException">an aggregate is not a valid step for the model (the outer optimizer's check); nothing is changed.</exception>
    public static RoundDecision Decide(TensorGroups groups, RoundModelState current, IReadOnlyList<RoundInput> updates, RoundRules rules)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(updates);
        ArgumentNullException.ThrowIfNull(rules);

        var delta = new ParameterSet();
        var results = new List<GroupResult>();
        var states = new Dictionary<string, float[]>(current.AggregatorStates, StringComparer.Ordinal);
        var outliers = new HashSet<string>(StringComparer.Ordinal);
        int underReplicated = 0;
        // Aggregate in work-unit order, not arrival order: the result is then the same however the network
        // interleaved the uploads (floating-point sums depend on order), so runs are reproducible.
        var ordered = updates.OrderBy(u => u.Version).ThenBy(u => u.UnitIndex).ToList();
        foreach (var key in groups.Keys)
        {
            bool trunk = key == TensorGroups.Trunk;
            string first = groups.NamesOf(key)[0];
            var holders = ordered.Where(u => trunk || u.Payload.Contains(first)).ToList();
            if (holders.Count == 0) continue;
            int leftOut = 0;
            if (!trunk) (holders, leftOut) = WithinProbationShare(holders, rules);
            if (!trunk && holders.Count < rules.Replication) underReplicated++;
            if (!trunk && holders.Count < rules.MinExpertHolders)
            {
                // A robust rule over fewer inputs than it needs is no rule (the median of two is their mean): leave the group as it is.
                results.Add(new GroupResult(key, holders.Count, $"{holders.Count} of {rules.MinExpertHolders} holders") { ProbationLeftOut = leftOut });
                continue;
            }
            var inputs = holders.Select(u => (ReadOnlyMemory<float>)groups.Flatten(key, u.Payload)).ToList();
            // Weights are the units' token counts, which the coordinator sets (equal for every unit), never a volunteer's claim.
            var weights = holders.Select(u => u.Weight).ToList();
            // A fresh pipeline per close with the group's saved state: the caller's state is never touched, so a failed commit leaves nothing to undo.
            var pipeline = AggregationPipeline.Parse(rules.RuleFor(key));
            if (states.TryGetValue(key, out var state) && state.Length > 0) pipeline.ImportState(state);
            AggregationOutcome outcome;
            try
            {
                outcome = pipeline.Aggregate(inputs, weights, rules.Parallelism);
            }
            catch (AggregationConfigException e)
            {
                // Too few holders for the rule's f: leave this group as it is rather than trust fewer inputs.
                results.Add(new GroupResult(key, holders.Count, e.Message) { ProbationLeftOut = leftOut });
                continue;
            }
            states[key] = pipeline.ExportState();
            foreach (var t in groups.Unflatten(key, outcome.Result)) delta.Add(t);
            results.Add(new GroupResult(key, holders.Count, null) { ProbationLeftOut = leftOut });
            var ratios = ReputationBook.DistanceRatios(inputs, outcome.Result);
            for (int i = 0; i < holders.Count; i++)
                if (ratios[i] > ReputationBook.OutlierRatio) outliers.Add(holders[i].VolunteerId);
        }

        var global = current.Global.Clone();
        var outer = OuterOptimizer.LoadState(current.Outer.SaveState());
        if (delta.Count > 0) outer.Step(global, delta);

        double trainLoss = updates.Count == 0 ? double.NaN : updates.Sum(u => u.Loss * u.Weight) / updates.Sum(u => u.Weight);
        return new RoundDecision(new RoundModelState(global, outer, states), delta, results, ReputationDeltas(updates, outliers), trainLoss, underReplicated);
    }

    /// <summary>
    /// An expert group with established holders takes at most <see cref="RoundRules.ProbationSlots"/> inputs from keys on probation, or as
    /// many as its established holders leave short of <see cref="RoundRules.MinExpertHolders"/>; the first in unit order are kept. Fresh
    /// keys that all land on one expert group therefore cannot outvote its established holders, whatever the round's draw did. A group
    /// held only by new keys keeps them all (there is nobody to outvote, and fewer inputs would only lower the rule's breakdown point);
    /// there the bound rests on admission control, as it does for a round of new keys.
    /// </summary>
    private static (List<RoundInput> Kept, int LeftOut) WithinProbationShare(List<RoundInput> holders, RoundRules rules)
    {
        int established = holders.Count(u => !u.OnProbation);
        if (established == 0) return (holders, 0);
        int allowed = Math.Max(rules.ProbationSlots, rules.MinExpertHolders - established);
        int seen = 0;
        var kept = holders.Where(u => !u.OnProbation || seen++ < allowed).ToList();
        return (kept, holders.Count - kept.Count);
    }

    /// <summary>
    /// Useful work earns <see cref="ReputationBook.Reward"/> once per round and key; an outlier or an update with (next to) no progress
    /// earns nothing for its key that round. Distance from the aggregate never costs reputation, so colluders who agree with each other
    /// cannot push an honest key towards a ban.
    /// </summary>
    private static Dictionary<string, double> ReputationDeltas(IReadOnlyList<RoundInput> updates, HashSet<string> outliers)
    {
        double medianTrunk = Median(updates.Select(u => u.TrunkNorm));
        var deltas = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var u in updates)
        {
            bool useful = !outliers.Contains(u.VolunteerId) && u.TrunkNorm >= ReputationBook.MinProgressFraction * medianTrunk;
            deltas[u.VolunteerId] = useful && deltas.GetValueOrDefault(u.VolunteerId, ReputationBook.Reward) > 0 ? ReputationBook.Reward : 0;
        }
        return deltas;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
    }
}
