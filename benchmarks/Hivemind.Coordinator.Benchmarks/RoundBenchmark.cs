using System.Diagnostics;
using System.Security.Cryptography;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Storage;
using System.Text.Json;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;
using Hivemind.Volunteer.Work;
using Microsoft.Extensions.Time.Testing;
using static Hivemind.Coordinator.Benchmarks.Format;
using CoreWorkUnit = Hivemind.Coordinator.Rounds.WorkUnit;

namespace Hivemind.Coordinator.Benchmarks;

/// <summary>
/// Issue 5, benchmark 2: the end of a 'small' round — from the last accepted update to the new version published
/// (engine.Tick: aggregate every tensor group, outer step, checkpoint written and fsync'd, evaluation if enabled, SQLite) —
/// against the engine's own aggregation time for the same updates (RoundSummary.AggregationTime), per rule, eval on and off.
/// </summary>
internal static class RoundBenchmark
{
    public static int Run(Args args, string root)
    {
        TorchRuntime.EnsureLoaded();
        int reps = args.Get("--reps", 3);
        int updates = args.Get("--updates", 4);
        // Issue 12's overhead check: the same rounds with spot checks drawn at this probability (0 = off).
        double spotChecks = double.Parse(args.Get("--spot-check-probability", "0"), System.Globalization.CultureInfo.InvariantCulture);
        var configs = new (string Rule, int Eval)[] { ("mean", 4), ("mean", 0), ("trimmed-mean(f=1)", 4), ("trimmed-mean(f=1)", 0) };
        var rows = new List<string>();
        foreach (var (rule, eval) in configs)
        {
            var (tick, aggregation, evaluation, gc, values, publish, checks) = Measure(Path.Combine(root, $"{rule.Replace('(', '_').Replace(')', '_').Replace('=', '_')}-eval{eval}"), rule, eval, updates, reps, spotChecks);
            rows.Add($"| {rule} | {eval} | {Ms(aggregation.Median)} | {Ms(tick.Median)} | {Ms(tick.Median - aggregation.Median)} | {(eval > 0 ? Ms(evaluation.Median) : "-")} | {Ms(gc.Median)} | {Ratio(tick.Median / aggregation.Median)} | {Ms(publish.Median)} | **{Ratio(publish.Median / aggregation.Median)}** | {Ratio(publish.Best / aggregation.Best)} | {checks} |");
            Console.WriteLine($"  {rule}, eval {eval}: {updates} updates of {values:N0} values; tick {Ms(tick.Median)} ms, aggregation {Ms(aggregation.Median)} ms; {checks} spot checks drawn");
        }
        Console.WriteLine();
        Console.WriteLine($"## round: 'small', {updates} updates (every expert in every update), {reps} closed rounds per row (+1 warm-up), spot-check probability {spotChecks}, {Machine.Load()}");
        Console.WriteLine();
        Console.WriteLine("| rule (trunk and experts) | eval batches | aggregation ms (median) | Tick ms: last update in -> version published (median) | Tick - aggregation ms | eval alone ms (EvaluateCurrent, separately) | GC pause inside Tick ms | Tick / aggregation (median) | publish ms: last update in -> new version durable and served (median) | **publish / aggregation (median)** | publish / aggregation (best) | spot checks drawn (warm-up included) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows) Console.WriteLine(row);
        Console.WriteLine();
        Console.WriteLine("where the rest of Tick goes ('mean', eval 0; steps re-run in isolation at the same sizes):");
        Console.WriteLine();
        Console.WriteLine("| step | ms |");
        Console.WriteLine("|---|---:|");
        foreach (var (step, ms) in s_probes) Console.WriteLine($"| {step} | {ms:0.0} |");
        Console.WriteLine();
        Console.WriteLine("criterion (issue 5): publish / aggregation <= 2. Since the engine publishes before it evaluates (evaluation runs after, outside the lock), Tick - publish is the evaluation.");
        return 0;
    }

    private static (Samples Tick, Samples Aggregation, Samples Eval, Samples Gc, long Values, Samples Publish, int Checks) Measure(string dir, string rule, int evalBatches, int updates, int reps, double spotChecks)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        var options = new CoordinatorOptions
        {
            DataDirectory = dir,
            Preset = "small",
            TrunkRule = rule,
            ExpertRule = rule,
            Quorum = updates,
            MinUpdates = 1,
            SpareLeases = 0,
            EvalBatches = evalBatches,
            Codec = "fp16",
            ParticipantDrawWindow = TimeSpan.Zero, // volunteers lease in-process, one after the other
            MinExpertHolders = 1, // the benchmark measures aggregation of every group, whatever the rule
            SpotCheckProbability = spotChecks,
            SpotCheckProbationProbability = spotChecks,
            // The benchmark's updates are random, not trained: its checks must pass to keep its volunteers, and a recomputation
            // costs the same whatever its verdict.
            SpotCheckMaxRelativeL2 = double.MaxValue,
            SpotCheckMinCosine = -1,
        };
        var model = ModelConfig.Preset(options.Preset);
        long memory = new ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert).MemoryNeeded(model.Experts);
        using var engine = CoordinatorEngine.Open(options, time);
        // How many recomputations an arm really ran: at p = 0.05 and a few updates per row, a row may draw none.
        int checks = 0;
        engine.SpotCheckDecided += _ => Interlocked.Increment(ref checks);
        var volunteers = Enumerable.Range(0, updates).Select(_ => Join(engine, memory)).ToList();
        var tick = new Samples("tick");
        var aggregation = new Samples("aggregation");
        var eval = new Samples("eval");
        var gc = new Samples("gc");
        var publish = new Samples("publish");
        long values = 0;
        var rng = new Random(11);
        for (int rep = -1; rep < reps; rep++)
        {
            foreach (var (identity, session) in volunteers)
            {
                var unit = engine.RequestWork(session).Unit ?? throw new InvalidOperationException("no work unit was leased");
                var delta = RandomDelta(engine.ShardParameters(session, unit.Version, unit.Id), rng);
                values = delta.ElementCount;
                var update = Seal(unit, delta, identity);
                string path = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".part");
                File.WriteAllBytes(path, update.Payload);
                engine.Submit(new SubmittedUpdate(update.Envelope.Bytes, update.Envelope.Signature, path, update.Payload.Length, SHA256.HashData(update.Payload)));
                time.Advance(TimeSpan.FromSeconds(1));
            }
            GC.Collect();
            var pause = GC.GetTotalPauseDuration();
            var watch = Stopwatch.StartNew();
            var summary = engine.Tick() ?? throw new InvalidOperationException("the round did not close at quorum");
            watch.Stop();
            pause = GC.GetTotalPauseDuration() - pause;
            if (summary.SkippedGroups > 0) throw new InvalidOperationException($"{summary.SkippedGroups} tensor groups were not aggregated");
            if (rep < 0) continue;
            tick.Add(watch.Elapsed);
            aggregation.Add(summary.AggregationTime);
            publish.Add(summary.PublishTime);
            gc.Add(pause);
            if (evalBatches > 0)
            {
                var e = Stopwatch.StartNew();
                engine.EvaluateCurrent();
                eval.Add(e.Elapsed);
            }
        }
        foreach (var (identity, _) in volunteers) identity.Dispose();
        // Drawn = decided + still queued or running; then let them finish so they do not run into the next row.
        int drawn = Volatile.Read(ref checks) + engine.PendingSpotChecks;
        if (!engine.WaitForSpotChecks(SpotCheckDrainTimeout)) throw new InvalidOperationException($"spot checks did not finish within {SpotCheckDrainTimeout}");
        if (rule == "mean" && evalBatches == 0) s_probes = Probe(engine, options, dir);
        return (tick, aggregation, eval, gc, values, publish, drawn);
    }

    private static List<(string Step, double Ms)> s_probes = [];

    /// <summary>How long a row waits for its last recomputations before the next row starts (a `small` unit takes seconds).</summary>
    private static readonly TimeSpan SpotCheckDrainTimeout = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The steps of closing a round after aggregation, re-run in isolation with the same sizes as CloseRound uses them
    /// (the engine does not time them itself): outer state, its base64 JSON, the atomic state write, the safetensors write.
    /// </summary>
    private static List<(string Step, double Ms)> Probe(CoordinatorEngine engine, CoordinatorOptions options, string dir)
    {
        var global = engine.GlobalParameters();
        var outer = new OuterOptimizer(options.OuterLearningRate, options.OuterMomentum);
        var delta = new ParameterSet(global.Select(t => new NamedTensor(t.Name, t.Shape, new float[t.Values.Length])));
        outer.Step(global.Clone(), delta);
        var samples = new Dictionary<string, Samples>(StringComparer.Ordinal);
        var order = new List<string>();
        void Time(string step, Action action)
        {
            var watch = Stopwatch.StartNew();
            action();
            if (!samples.TryGetValue(step, out var list))
            {
                samples[step] = list = new Samples(step);
                order.Add(step);
            }
            list.Add(watch.Elapsed);
        }
        byte[] state = [];
        for (int rep = 0; rep < 5; rep++)
        {
            GC.Collect();
            Time("OuterOptimizer.SaveState (one block write per tensor)", () => state = outer.SaveState());
            Time($"DurableFiles.WriteAtomic of the raw state ({state.Length / 1e6:0.0} MB: write, fsync, rename, dir fsync)", () => DurableFiles.WriteAtomic(Path.Combine(dir, $"probe{rep}.state.bin"), state));
            Time($"SafeTensors.Write of the parameters ({global.ElementCount * 4 / 1e6:0.0} MB, with fsync)", () => SafeTensors.Write(Path.Combine(dir, $"probe{rep}.safetensors"), global));
            Time("DurableFiles.SyncDirectory", () => DurableFiles.SyncDirectory(dir));
            Time("1 SQLite transaction (CloseRound commits AdvanceRound with the reputations)", () => engine.Store.CountRejection("benchmark-probe"));
            File.Delete(Path.Combine(dir, $"probe{rep}.state.bin")); // like CloseRound, every file is new (old versions are pruned)
            File.Delete(Path.Combine(dir, $"probe{rep}.safetensors"));
        }
        return [.. order.Select(step => (step + " (median of 5)", samples[step].Median * 1e3))];
    }

    private static (VolunteerIdentity Identity, string Session) Join(CoordinatorEngine engine, long memory)
    {
        var identity = VolunteerIdentity.Create();
        var (nonce, _) = engine.IssueChallenge(identity.PublicKey);
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, engine.RunId, nonce, (ulong)memory, "cpu", "");
        var (_, session) = engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, (ulong)memory, "cpu", "");
        return (identity, session);
    }

    private static TrainedUpdate Seal(CoreWorkUnit unit, ParameterSet delta, VolunteerIdentity identity)
    {
        var spec = new UnitSpec(unit.Id, unit.Round, unit.Version, unit.Model, unit.Shard, unit.Data, unit.Training, unit.Codec) { RunId = unit.RunId, KeptPerBlock = unit.KeptPerBlock };
        long tokens = (long)unit.Training.InnerSteps * unit.Training.BatchSize * unit.Training.SeqLen; // the coordinator requires the unit's own count
        return WorkUnitRunner.Seal(spec, delta, identity, meanLoss: 3.0, tokens: tokens);
    }

    /// <summary>A realistic-scale random pseudo-gradient: a shared direction plus per-volunteer noise (|x| ~ 1e-3).</summary>
    private static ParameterSet RandomDelta(ParameterSet shape, Random rng)
    {
        var delta = new ParameterSet();
        foreach (var t in shape)
        {
            var values = new float[t.Values.Length];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(1e-3 * Math.Sin(i * 0.01) + (rng.NextDouble() * 2 - 1) * 5e-4);
            delta.Add(new NamedTensor(t.Name, t.Shape, values));
        }
        return delta;
    }
}
