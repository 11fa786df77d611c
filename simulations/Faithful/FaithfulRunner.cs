using System.Globalization;
using System.Runtime.InteropServices;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Faithful;

/// <summary>Resolves a faithful scenario into engine runs and runs its experiment.</summary>
public static class FaithfulRunner
{
    private const double SecondsPerMinute = 60;

    /// <summary>The eager experiment's axis: "sync" or "eager".</summary>
    public const string EagerAxis = "mode";

    /// <summary>
    /// The eager twin of a run: eager volunteers, the engine's eager slots (all units of a round unless faithful.engine sets fewer) and a
    /// staleness window of at least the one version an eager unit lags.
    /// </summary>
    public static FaithfulConfig EagerConfig(FaithfulConfig b) => b.WithEngine(e => e with
    {
        EagerSlots = e.EagerSlots > 0 ? e.EagerSlots : e.Quorum + e.SpareLeases,
        MaxStaleness = Math.Max(1, e.MaxStaleness),
    }) with { Eager = true };

    /// <summary>The verification experiment's axis: the spot-check probability of the run.</summary>
    public const string VerificationAxis = "spot-check p";

    /// <summary>Runs <paramref name="scenario"/>; <paramref name="progress"/> hears (runs done, runs in all, what just ran).</summary>
    public static FaithfulOutcome Run(Scenario scenario, bool smoke, Action<int, int, string>? progress = null) =>
        Run(scenario, smoke, progress, FaithfulSimulation.Run);

    /// <summary>As <see cref="Run(Scenario, bool, Action{int, int, string}?)"/>, with <paramref name="simulate"/> running each engine run (tests inject failures).</summary>
    /// <remarks>A run that stops on a native (libtorch) error is recorded in <see cref="FaithfulOutcome.Failures"/> and the others still run.</remarks>
    /// <param name="budget">Wall time after which no further engine run starts; the outcome lists the runs left out.</param>
    /// <param name="parallelism">Engine runs at once (each trains on one thread); the outcome does not depend on it.</param>
    /// <param name="finished">Hears each engine run as soon as it finished (in finishing order, one call at a time): `run` appends it to runs.csv.</param>
    public static FaithfulOutcome Run(Scenario scenario, bool smoke, Action<int, int, string>? progress, Func<FaithfulConfig, FaithfulResult> simulate,
        TimeSpan? budget = null, int parallelism = 1, Action<FaithfulRun>? finished = null)
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

        // Each engine run is self-contained (its own engine, store, clock, seeded draws and single-threaded trainer), so runs may go
        // side by side; results keep the job order, so the report is the same at any parallelism.
        var results = new FaithfulRun?[jobs.Count];
        var failed = new FaithfulFailure?[jobs.Count];
        var skipped = new bool[jobs.Count];
        var gate = new object();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int next = -1;
        Exception? stop = null;
        void Worker()
        {
            // Jobs start in their order (seeds innermost), so a budget that runs out still leaves whole cells behind it.
            for (int i; Volatile.Read(ref stop) is null && (i = Interlocked.Increment(ref next)) < jobs.Count;)
            {
                var (axes, config) = jobs[i];
                if (budget is { } limit && watch.Elapsed >= limit)
                {
                    skipped[i] = true;
                    continue;
                }

                try
                {
                    results[i] = new FaithfulRun(axes, simulate(config));
                }
                catch (ExternalException e)
                {
                    // A native error ends this run only: the scenario goes on and the report names the run that failed.
                    failed[i] = new FaithfulFailure(axes, $"{e.GetType().Name}: {e.Message.Split('\n')[0].Trim()}");
                }
                catch (Exception e) when (parallelism > 1)
                {
                    Interlocked.CompareExchange(ref stop, e, null);
                    return;
                }

                lock (gate)
                {
                    if (results[i] is { } run)
                    {
                        finished?.Invoke(run);
                    }

                    progress?.Invoke(++done, total, string.Join(", ", axes.Select(a => $"{a.Axis} {a.Value}")));
                }
            }
        }

        if (parallelism <= 1)
        {
            Worker();
        }
        else
        {
            var threads = Enumerable.Range(0, parallelism).Select(_ => new Thread(Worker)).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            if (stop is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(stop);
        }

        var runs = results.OfType<FaithfulRun>().ToList();
        var failures = failed.OfType<FaithfulFailure>().ToList();
        var notRun = jobs.Where((_, i) => skipped[i]).Select(j => string.Join(", ", j.Axes.Select(a => $"{a.Axis} {a.Value}"))).ToList();
        return new FaithfulOutcome(s, smoke, baseConfig, runs, central) { Failures = failures, NotRun = notRun };
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
                AlphaSweep = smoke.AlphaSweep ?? f.AlphaSweep,
                Seeds = smoke.Seeds ?? f.Seeds,
            },
        };
    }

    /// <summary>The scenario's base run: the engine's options from faithful.engine plus the fields the shared sections own.</summary>
    public static FaithfulConfig BaseConfig(Scenario s, DeviceTable table)
    {
        var f = s.Faithful ?? new FaithfulSection();
        var engine = f.Engine with
        {
            Seed = s.Seed,
            MaxRounds = s.Round.Rounds,
            Quorum = QuorumCount(s.Round.Quorum, s.Volunteers.Count),
            InnerSteps = s.Training.InnerSteps,
            Codec = KebabEnumConverter.NameOf(s.Codec.Upload),
            RoundTimeout = TimeSpan.FromMinutes(s.Round.DeadlineMinutes),
            TrunkRule = f.Engine.TrunkRule.Replace("{f}", "1", StringComparison.Ordinal),
            ExpertRule = f.Engine.ExpertRule.Replace("{f}", "1", StringComparison.Ordinal),
        };
        return new FaithfulConfig
        {
            Engine = engine,
            Volunteers = s.Volunteers.Count,
            ExpertsPerLayer = f.ExpertsPerLayer,
            DomainAlpha = f.DomainAlpha,
            DeviceMix = s.Volunteers.Devices.Select(d => (table[d.Device].ForPreset(engine.Preset), d.Weight)).ToList(),
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
            CoordinatorDevice = table[f.CoordinatorDevice].ForPreset(engine.Preset),
            ByzantineFraction = f.ByzantineFraction,
            Attack = f.Attack,
        };
    }

    /// <summary>The engine's quorum count for a fraction of the volunteers (at least one).</summary>
    public static int QuorumCount(double fraction, int volunteers) => Math.Max(1, (int)Math.Ceiling(fraction * volunteers - 1e-9));

    /// <summary>
    /// Every engine run of the scenario: the experiment's cells, each at every α of the sweep and every seed. Seeds are the
    /// innermost loop so a cell's repeats finish together (a stopped run still has whole cells).
    /// </summary>
    private static IEnumerable<(IReadOnlyList<(string Axis, string Value)> Axes, FaithfulConfig Config)> Jobs(Scenario s, FaithfulSection f, FaithfulConfig b)
    {
        var alphas = f.AlphaSweep.Count > 0 ? f.AlphaSweep.Select(a => (double?)a).ToList() : [f.DomainAlpha];
        foreach (double? alpha in alphas)
        {
            foreach (var (axes, config) in Cells(f, b with { DomainAlpha = alpha }))
            {
                IReadOnlyList<(string Axis, string Value)> cell = f.AlphaSweep.Count > 0 ? [("alpha", Text(alpha!.Value)), .. axes] : axes;
                for (int i = 0; i < Math.Max(1, f.Seeds); i++)
                {
                    int seed = s.Seed + i;
                    yield return ([.. cell, (FaithfulRun.SeedAxis, Text(seed))], config.WithEngine(e => e with { Seed = seed }));
                }
            }
        }
    }

    private static IEnumerable<(IReadOnlyList<(string Axis, string Value)> Axes, FaithfulConfig Config)> Cells(FaithfulSection f, FaithfulConfig b)
    {
        switch (f.Experiment)
        {
            case FaithfulExperiment.Run:
                yield return ([("run", "base")], b);
                break;
            case FaithfulExperiment.MoeVsDense:
                long budget = (long)b.Rounds * b.Engine.InnerSteps;
                foreach (int h in f.InnerStepsSweep.DefaultIfEmpty(b.Engine.InnerSteps))
                {
                    var swept = b.WithEngine(e => e with { InnerSteps = h, MaxRounds = (int)(budget / h) });
                    yield return (MoeAxes("H", swept), swept);
                }

                foreach (double q in f.QuorumSweep)
                {
                    var quorum = b.WithEngine(e => e with { Quorum = QuorumCount(q, b.Volunteers) });
                    yield return (MoeAxes("quorum", quorum), quorum);
                }

                foreach (int staleness in f.StalenessSweep)
                {
                    var stale = b.WithEngine(e => e with { MaxStaleness = staleness, SpareLeases = f.StalenessSpareLeases });
                    yield return (MoeAxes("staleness", stale), stale);
                }

                break;
            case FaithfulExperiment.Eager:
                yield return ([(EagerAxis, "sync")], b with { Eager = false });
                yield return ([(EagerAxis, "eager")], EagerConfig(b));
                break;
            case FaithfulExperiment.Verification:
                foreach (string attack in f.Attacks.DefaultIfEmpty(f.Attack ?? FaithfulConfig.LabelFlipAttack))
                {
                    foreach (double p in f.SpotCheckSweep)
                    {
                        var checkedRun = b.WithEngine(e => e with { SpotCheckProbability = p, SpotCheckProbationProbability = p })
                            with { Attack = attack, ByzantineFraction = f.ByzantineFraction };
                        yield return ([("attack", attack), (VerificationAxis, Text(p))], checkedRun);
                    }
                }

                break;
            case FaithfulExperiment.AttackMatrix:
                var fractions = f.ByzantineFractions.Where(x => x > 0).Distinct().Order().ToList();
                int defended = fractions.Count == 0 ? 0 : Byzantine(fractions[^1], b.Volunteers);
                string Spec(string rule) => rule.Replace("{f}", Text(Math.Max(1, defended)), StringComparison.Ordinal);
                var skipped = f.SkipReferences.Select(Spec).ToHashSet(StringComparer.Ordinal);
                var rules = f.Aggregators.Select(Spec)
                    .Select(spec => (Spec: spec, Config: b.WithEngine(e => e with { TrunkRule = spec, ExpertRule = spec }) with { Attack = null, ByzantineFraction = 0 }))
                    .ToList();
                IEnumerable<(IReadOnlyList<(string, string)>, FaithfulConfig)> Attacked(string spec, FaithfulConfig ruled, string attack) =>
                    fractions.Select(x => ruled with { Attack = attack, ByzantineFraction = x })
                        .Select(attacked => ((IReadOnlyList<(string, string)>)[("aggregator", spec), ("attack", attack), ("byzantine", Text(attacked.ByzantineSlots))], attacked));
                IEnumerable<(IReadOnlyList<(string, string)>, FaithfulConfig)> Reference(string spec, FaithfulConfig ruled) =>
                    skipped.Contains(spec) ? [] : [([("aggregator", spec), ("attack", "none"), ("byzantine", "0")], ruled)];
                var matrixJobs = f.AttackMajor
                    ? rules.SelectMany(r => Reference(r.Spec, r.Config))
                        .Concat(f.Attacks.SelectMany(attack => rules.SelectMany(r => Attacked(r.Spec, r.Config, attack))))
                    : rules.SelectMany(r => Reference(r.Spec, r.Config).Concat(f.Attacks.SelectMany(attack => Attacked(r.Spec, r.Config, attack))));
                foreach (var job in matrixJobs)
                {
                    yield return job;
                }

                break;
        }
    }

    private static IReadOnlyList<(string Axis, string Value)> MoeAxes(string sweep, FaithfulConfig c) =>
        [("sweep", sweep), ("H", Text(c.Engine.InnerSteps)), ("quorum", Text(c.Quorum)), ("spare", Text(c.Engine.SpareLeases)), ("staleness", Text(c.Engine.MaxStaleness))];

    private static IEnumerable<Func<CentralizedResult>> BaselineJobs(FaithfulConfig b)
    {
        // Equal tokens: the centralized trainer takes one step per inner step of the pool, on the pool's combined batch.
        int steps = b.Rounds * b.Engine.InnerSteps;
        int batch = b.Quorum * b.Engine.BatchSize;
        yield return () => CentralizedBaseline.Train(b, dense: true, steps, batch);
        yield return () => CentralizedBaseline.Train(b, dense: false, steps, batch);
    }

    private static int Byzantine(double fraction, int volunteers) => (int)Math.Round(fraction * volunteers, MidpointRounding.AwayFromZero);

    private static string Text(double v) => v.ToString(CultureInfo.InvariantCulture);
}
