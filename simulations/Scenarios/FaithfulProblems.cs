using Hivemind.Aggregation;
using Hivemind.Coordinator;
using Hivemind.Simulations.Faithful;
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
        var e = f.Engine;
        if (!ModelConfig.PresetNames.Contains(e.Preset))
        {
            yield return $"faithful.engine.preset = '{e.Preset}': use one of {string.Join(", ", ModelConfig.PresetNames)} (micro, tiny or small fit this machine)";
            yield break;
        }

        foreach (string p in Owned(e))
        {
            yield return p;
        }

        var model = ModelConfig.Preset(e.Preset);
        if (e.SequenceLength > model.ContextLength)
        {
            yield return $"faithful.engine.sequenceLength = {e.SequenceLength}: must be at most the {e.Preset} context ({model.ContextLength})";
        }

        string? invalid = null;
        try
        {
            // The engine's own validation, on the options the run will use (quorum from round.quorum and volunteers.count).
            FaithfulConfig.VirtualTime(e with { Quorum = Math.Max(1, (int)Math.Ceiling(s.Round.Quorum * s.Volunteers.Count - 1e-9)), MinUpdates = 1 }, "").Validate();
        }
        catch (ArgumentException x)
        {
            invalid = $"faithful.engine: {x.Message}";
        }

        if (invalid is not null) yield return invalid;

        if (f.ExpertsPerLayer is { } k && (k < model.TopK || k > model.Experts))
        {
            yield return $"faithful.expertsPerLayer = {k}: must be between top-k ({model.TopK}) and the {e.Preset} expert count ({model.Experts})";
        }

        if (e.EvalBatches < 1) yield return $"faithful.engine.evalBatches = {e.EvalBatches}: must be >= 1, since the report is about held-out loss";
        foreach (double a in f.AlphaSweep.Concat(s.Smoke?.AlphaSweep ?? []).Concat(f.DomainAlpha is { } one ? [one] : []).Where(a => !(a > 0) || double.IsInfinity(a)))
        {
            yield return $"faithful: Dirichlet α {a} must be a positive finite number (0.1: about one domain per volunteer; 100: nearly uniform)";
        }

        if (f.Seeds < 1 || s.Smoke?.Seeds is < 1) yield return $"faithful.seeds = {f.Seeds} (smoke {s.Smoke?.Seeds}): must be >= 1 (3 or more give a 95% interval worth reading)";
        if (!table.Contains(f.CoordinatorDevice)) yield return $"faithful.coordinatorDevice = '{f.CoordinatorDevice}' is not in the device table (known: {table.KnownNames})";
        if (f.ByzantineFraction is < 0 or >= 0.5) yield return $"faithful.byzantineFraction = {f.ByzantineFraction}: must be in [0, 0.5)";
        foreach (var (path, spec) in Attacks(f).Where(a => a.Item2 != FaithfulConfig.LabelFlipAttack))
        {
            string? problem = null;
            try
            {
                AttackFactory.Create(spec);
            }
            catch (Exception x) when (x is ArgumentException or FormatException or SpecParseException)
            {
                problem = $"{path} = '{spec}': {x.Message}";
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
            catch (Exception x) when (x is ArgumentException or FormatException or SpecParseException)
            {
                problem = $"{path} = '{spec}': {x.Message}";
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

        if (e.MaxStaleness > 0 && e.MaxStaleness >= s.Round.Rounds)
        {
            yield return $"faithful.engine.maxStaleness = {e.MaxStaleness}: must be between 0 (synchronous: late updates are rejected as stale-round) and rounds - 1 ({s.Round.Rounds - 1})";
        }

        if (f.Experiment == FaithfulExperiment.AttackMatrix && (f.Attacks.Count == 0 || f.Aggregators.Count == 0))
        {
            yield return "faithful: experiment \"attack-matrix\" needs non-empty \"attacks\" and \"aggregators\"";
        }

        foreach (string skip in f.SkipReferences.Where(x => !f.Aggregators.Contains(x, StringComparer.Ordinal)))
        {
            yield return $"faithful.skipReferences has \"{skip}\", which is not one of faithful.aggregators (write it exactly as there)";
        }

        if (f.Experiment == FaithfulExperiment.Verification && (f.SpotCheckSweep.Count == 0 || !(f.ByzantineFraction > 0)))
        {
            yield return $"faithful: experiment \"verification\" needs a non-empty \"spotCheckSweep\" (such as [0, 0.05, 0.25]) and a \"byzantineFraction\" above 0 (the cheaters), not {f.ByzantineFraction}";
        }

        foreach (double p in f.SpotCheckSweep.Where(p => !(p is >= 0 and <= 1)))
        {
            yield return $"faithful.spotCheckSweep has {p}: a spot-check probability must be in [0, 1]";
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
            .Append(("faithful.engine.trunkRule", f.Engine.TrunkRule)).Append(("faithful.engine.expertRule", f.Engine.ExpertRule));

    // Settings the scenario's shared sections own: setting them in faithful.engine would be a second, silently ignored value.
    private static IEnumerable<string> Owned(CoordinatorOptions e)
    {
        var d = new CoordinatorOptions();
        if (e.Seed != d.Seed) yield return $"faithful.engine.seed = {e.Seed}: set the scenario's top-level \"seed\" instead";
        if (e.InnerSteps != d.InnerSteps) yield return $"faithful.engine.innerSteps = {e.InnerSteps}: set training.innerSteps instead";
        if (e.Quorum != d.Quorum) yield return $"faithful.engine.quorum = {e.Quorum}: set round.quorum (a fraction of volunteers.count) instead";
        if (e.MaxRounds != d.MaxRounds) yield return $"faithful.engine.maxRounds = {e.MaxRounds}: set round.rounds instead";
        if (e.Codec != d.Codec) yield return $"faithful.engine.codec = '{e.Codec}': set codec.upload instead";
        if (e.RoundTimeout != d.RoundTimeout) yield return $"faithful.engine.roundTimeout = {e.RoundTimeout}: set round.deadlineMinutes instead";
        if (e.DataDirectory != d.DataDirectory) yield return "faithful.engine.dataDirectory: the simulator uses a temporary folder per run; remove the field";
    }
}
