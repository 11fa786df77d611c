using Hivemind.Aggregation;
using Hivemind.Simulations.Timing;
using Hivemind.Training;

namespace Hivemind.Simulations.Scenarios;

/// <summary>Checks the "faithful" section; each problem names the field, the value and the fix.</summary>
public static class FaithfulProblems
{
    /// <summary>Every problem of a faithful scenario's own settings.</summary>
    public static IEnumerable<string> Of(Scenario s, DeviceTable table)
    {
        var f = s.Faithful ?? new FaithfulSection();
        if (f.Preset is not ("tiny" or "small" or "base"))
        {
            yield return $"faithful.preset = '{f.Preset}': use one of {string.Join(", ", ModelConfig.PresetNames)} (tiny or small fit this machine)";
            yield break;
        }

        var model = ModelConfig.Preset(f.Preset);
        if (f.BatchSize < 1) yield return $"faithful.batchSize = {f.BatchSize}: must be >= 1";
        if (f.SequenceLength < 2 || f.SequenceLength > model.ContextLength)
        {
            yield return $"faithful.sequenceLength = {f.SequenceLength}: must be between 2 and the {f.Preset} context ({model.ContextLength})";
        }

        if (f.ExpertsPerLayer is { } k && (k < model.TopK || k > model.Experts))
        {
            yield return $"faithful.expertsPerLayer = {k}: must be between top-k ({model.TopK}) and the {f.Preset} expert count ({model.Experts})";
        }

        if (f.EvalBatches < 1) yield return $"faithful.evalBatches = {f.EvalBatches}: must be >= 1, since the report is about held-out loss";
        if (!table.Contains(f.CoordinatorDevice)) yield return $"faithful.coordinatorDevice = '{f.CoordinatorDevice}' is not in the device table (known: {table.KnownNames})";
        if (f.ByzantineFraction is < 0 or >= 0.5) yield return $"faithful.byzantineFraction = {f.ByzantineFraction}: must be in [0, 0.5)";
        foreach (var (path, spec) in Attacks(f))
        {
            string? problem = null;
            try
            {
                AttackFactory.Create(spec);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or SpecParseException)
            {
                problem = $"{path} = '{spec}': {e.Message}";
            }

            if (problem is not null) yield return problem;
        }

        foreach (var (path, spec) in Rules(f))
        {
            string? problem = null;
            try
            {
                AggregationPipeline.Parse(spec.Replace("{f}", "1", StringComparison.Ordinal));
            }
            catch (Exception e) when (e is ArgumentException or FormatException or SpecParseException)
            {
                problem = $"{path} = '{spec}': {e.Message}";
            }

            if (problem is not null) yield return problem;
        }

        if (f.Experiment == FaithfulExperiment.MoeVsDense)
        {
            foreach (int h in f.InnerStepsSweep.Where(h => h < 1 || (long)s.Round.Rounds * s.Training.InnerSteps % h != 0))
            {
                yield return $"faithful.innerStepsSweep has {h}: rounds × H ({s.Round.Rounds} × {s.Training.InnerSteps}) must be a multiple of it, so every run trains the same tokens";
            }

            foreach (double q in f.QuorumSweep.Where(q => !(q > 0 && q <= 1)))
            {
                yield return $"faithful.quorumSweep has {q}: must be a fraction in (0, 1]";
            }

            foreach (int x in f.StalenessSweep.Concat(s.Smoke?.StalenessSweep ?? []).Where(x => x < 0 || x >= s.Round.Rounds))
            {
                yield return $"faithful.stalenessSweep has {x}: must be between 0 (synchronous) and rounds - 1 ({s.Round.Rounds - 1}), such as 0, 1, 2";
            }

            if (f.StalenessSweep.Count > 0 && f.StalenessSpareLeases < 1)
            {
                yield return $"faithful.stalenessSpareLeases = {f.StalenessSpareLeases}: must be >= 1 when stalenessSweep is set; without spare units every leased unit is needed for the quorum, so none arrives after its round closed";
            }
        }

        if (f.MaxStaleness < 0 || (f.MaxStaleness > 0 && f.MaxStaleness >= s.Round.Rounds))
        {
            yield return $"faithful.maxStaleness = {f.MaxStaleness}: must be between 0 (synchronous: late updates are rejected as stale-round) and rounds - 1 ({s.Round.Rounds - 1})";
        }

        if (f.SpareLeases < 0)
        {
            yield return $"faithful.spareLeases = {f.SpareLeases}: must be >= 0 (units leased beyond the quorum; 0 leases exactly the quorum)";
        }

        if (f.Experiment == FaithfulExperiment.AttackMatrix && (f.Attacks.Count == 0 || f.Aggregators.Count == 0))
        {
            yield return "faithful: experiment \"attack-matrix\" needs non-empty \"attacks\" and \"aggregators\"";
        }

        foreach (double b in f.ByzantineFractions.Where(b => b is < 0 or >= 0.5))
        {
            yield return $"faithful.byzantineFractions has {b}: must be in [0, 0.5)";
        }
    }

    private static IEnumerable<(string, string)> Attacks(FaithfulSection f) =>
        f.Attacks.Select((a, i) => ($"faithful.attacks[{i}]", a)).Concat(f.Attack is { } a ? [("faithful.attack", a)] : []);

    private static IEnumerable<(string, string)> Rules(FaithfulSection f) =>
        f.Aggregators.Select((a, i) => ($"faithful.aggregators[{i}]", a))
            .Append(("faithful.trunkRule", f.TrunkRule)).Append(("faithful.expertRule", f.ExpertRule));
}
