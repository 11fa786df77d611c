using System.Globalization;
using System.Runtime.InteropServices;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Faithful;

/// <summary>Resolves a faithful scenario into engine runs and runs its experiment.</summary>
public static class FaithfulRunner
{
    private const double SecondsPerMinute = 60;

    /// <summary>Runs <paramref name="scenario"/>; <paramref name="progress"/> hears (runs done, runs in all, what just ran).</summary>
    public static FaithfulOutcome Run(Scenario scenario, bool smoke, Action<int, int, string>? progress = null) =>
        Run(scenario, smoke, progress, FaithfulSimulation.Run);

    /// <summary>As <see cref="Run(Scenario, bool, Action{int, int, string}?)"/>, with <paramref name="simulate"/> running each engine run (tests inject failures).</summary>
    /// <remarks>A run that stops on a native (libtorch) error is recorded in <see cref="FaithfulOutcome.Failures"/> and the others still run.</remarks>
    public static FaithfulOutcome Run(Scenario scenario, bool smoke, Action<int, int, string>? progress, Func<FaithfulConfig, FaithfulResult> simulate)
    {
        ArgumentNullException.ThrowIfNull(simulate);
        var s = smoke ? WithSmoke(scenario) : scenario;
        var f = s.Faithful ?? new FaithfulSection();
        var baseConfig = BaseConfig(s, new DeviceTable(s.Devices.Select(d => d.ToSpec())));
        var jobs = Jobs(s, f, baseConfig).ToList();
        var baselines = f.Experiment == FaithfulExperiment.MoeVsDense ? BaselineJobs(baseConfig).ToList() : [];
        int total = jobs.Count + baselines.Count, done = 0;

        var central = new List<CentralizedResult>();
        foreach (var job in baselines)
        {
            central.Add(job());
            progress?.Invoke(++done, total, central[^1].Label);
        }

        var runs = new List<FaithfulRun>();
        var failures = new List<FaithfulFailure>();
        foreach (var (axes, config) in jobs)
        {
            try
            {
                runs.Add(new FaithfulRun(axes, simulate(config)));
            }
            catch (ExternalException e)
            {
                // A native error ends this run only: the scenario goes on and the report names the run that failed.
                failures.Add(new FaithfulFailure(axes, $"{e.GetType().Name}: {e.Message.Split('\n')[0].Trim()}"));
            }

            progress?.Invoke(++done, total, string.Join(", ", axes.Select(a => $"{a.Axis} {a.Value}")));
        }

        return new FaithfulOutcome(s, smoke, baseConfig, runs, central) { Failures = failures };
    }

    /// <summary>The scenario with its smoke values in place (faithful lists included).</summary>
    public static Scenario WithSmoke(Scenario s)
    {
        var scaled = Running.ScenarioRunner.WithSmoke(s);
        if (s.Smoke is not { } smoke || s.Faithful is not { } f)
        {
            return scaled;
        }

        return scaled with
        {
            Faithful = f with
            {
                InnerStepsSweep = smoke.InnerStepsSweep ?? f.InnerStepsSweep,
                QuorumSweep = smoke.QuorumSweep ?? f.QuorumSweep,
                StalenessSweep = smoke.StalenessSweep ?? f.StalenessSweep,
                Attacks = smoke.Attacks ?? f.Attacks,
                Aggregators = smoke.Aggregators ?? f.Aggregators,
                ByzantineFractions = smoke.ByzantineFractions ?? f.ByzantineFractions,
            },
        };
    }

    /// <summary>The scenario's base run.</summary>
    public static FaithfulConfig BaseConfig(Scenario s, DeviceTable table)
    {
        var f = s.Faithful ?? new FaithfulSection();
        return new FaithfulConfig
        {
            Preset = f.Preset,
            Seed = s.Seed,
            Volunteers = s.Volunteers.Count,
            Rounds = s.Round.Rounds,
            Quorum = QuorumCount(s.Round.Quorum, s.Volunteers.Count),
            InnerSteps = s.Training.InnerSteps,
            MaxStaleness = f.MaxStaleness,
            SpareLeases = f.SpareLeases,
            BatchSize = f.BatchSize,
            SequenceLength = f.SequenceLength,
            InnerLearningRate = f.InnerLearningRate,
            WarmupSteps = f.WarmupSteps,
            OuterLearningRate = f.OuterLearningRate,
            OuterMomentum = f.OuterMomentum,
            TrunkRule = f.TrunkRule.Replace("{f}", "1", StringComparison.Ordinal),
            ExpertRule = f.ExpertRule.Replace("{f}", "1", StringComparison.Ordinal),
            Codec = KebabEnumConverter.NameOf(s.Codec.Upload),
            ExpertsPerLayer = f.ExpertsPerLayer,
            EvalBatches = f.EvalBatches,
            DeadlineSeconds = s.Round.DeadlineMinutes * SecondsPerMinute,
            LeaseSeconds = (f.LeaseMinutes ?? s.Round.DeadlineMinutes) * SecondsPerMinute,
            DeviceMix = s.Volunteers.Devices.Select(d => (table[d.Device].ForPreset(f.Preset), d.Weight)).ToList(),
            Precision = s.Training.Precision,
            DownloadMbps = s.Volunteers.DownloadMbps,
            UploadMbps = s.Volunteers.UploadMbps ?? s.Volunteers.DownloadMbps,
            LatencyMs = s.Volunteers.LatencyMs,
            SessionHours = s.Volunteers.SessionHours,
            OfflineHours = s.Volunteers.OfflineHours,
            StragglerFraction = s.Volunteers.Stragglers.Fraction,
            StragglerSlowdown = s.Volunteers.Stragglers.Slowdown,
            CoordinatorMbps = s.Coordinator.LinkMbps,
            AggregationCores = s.Coordinator.AggregationCores,
            CoordinatorDevice = table[f.CoordinatorDevice].ForPreset(f.Preset),
            ByzantineFraction = f.ByzantineFraction,
            Attack = f.Attack,
        };
    }

    /// <summary>The engine's quorum count for a fraction of the volunteers (at least one).</summary>
    public static int QuorumCount(double fraction, int volunteers) => Math.Max(1, (int)Math.Ceiling(fraction * volunteers - 1e-9));

    private static IEnumerable<(IReadOnlyList<(string Axis, string Value)> Axes, FaithfulConfig Config)> Jobs(Scenario s, FaithfulSection f, FaithfulConfig b)
    {
        switch (f.Experiment)
        {
            case FaithfulExperiment.Run:
                yield return ([("run", "base")], b);
                break;
            case FaithfulExperiment.MoeVsDense:
                long budget = (long)b.Rounds * b.InnerSteps;
                foreach (int h in f.InnerStepsSweep.DefaultIfEmpty(b.InnerSteps))
                {
                    yield return (MoeAxes("H", b with { InnerSteps = h }), b with { InnerSteps = h, Rounds = (int)(budget / h) });
                }

                foreach (double q in f.QuorumSweep)
                {
                    var quorum = b with { Quorum = QuorumCount(q, b.Volunteers) };
                    yield return (MoeAxes("quorum", quorum), quorum);
                }

                foreach (int staleness in f.StalenessSweep)
                {
                    var stale = b with { MaxStaleness = staleness, SpareLeases = f.StalenessSpareLeases };
                    yield return (MoeAxes("staleness", stale), stale);
                }

                break;
            case FaithfulExperiment.AttackMatrix:
                var fractions = f.ByzantineFractions.Where(x => x > 0).Distinct().Order().ToList();
                int defended = fractions.Count == 0 ? 0 : Byzantine(fractions[^1], b.Volunteers);
                foreach (string rule in f.Aggregators)
                {
                    string spec = rule.Replace("{f}", Text(Math.Max(1, defended)), StringComparison.Ordinal);
                    var ruled = b with { TrunkRule = spec, ExpertRule = spec, Attack = null, ByzantineFraction = 0 };
                    yield return ([("aggregator", spec), ("attack", "none"), ("byzantine", "0")], ruled);
                    foreach (string attack in f.Attacks)
                    {
                        foreach (double x in fractions)
                        {
                            var attacked = ruled with { Attack = attack, ByzantineFraction = x };
                            yield return ([("aggregator", spec), ("attack", attack), ("byzantine", Text(attacked.ByzantineSlots))], attacked);
                        }
                    }
                }

                break;
        }
    }

    private static IReadOnlyList<(string Axis, string Value)> MoeAxes(string sweep, FaithfulConfig c) =>
        [("sweep", sweep), ("H", Text(c.InnerSteps)), ("quorum", Text(c.Quorum)), ("spare", Text(c.SpareLeases)), ("staleness", Text(c.MaxStaleness))];

    private static IEnumerable<Func<CentralizedResult>> BaselineJobs(FaithfulConfig b)
    {
        // Equal tokens: the centralized trainer takes one step per inner step of the pool, on the pool's combined batch.
        int steps = b.Rounds * b.InnerSteps;
        int batch = b.Quorum * b.BatchSize;
        yield return () => CentralizedBaseline.Train(b, dense: true, steps, batch);
        yield return () => CentralizedBaseline.Train(b, dense: false, steps, batch);
    }

    private static int Byzantine(double fraction, int volunteers) => (int)Math.Round(fraction * volunteers, MidpointRounding.AwayFromZero);

    private static string Text(double v) => v.ToString(CultureInfo.InvariantCulture);
}
