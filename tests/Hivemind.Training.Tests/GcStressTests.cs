using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;

namespace Hivemind.Training.Tests;

/// <summary>
/// Training and evaluation with the garbage collector running all the time: a TorchSharp call that lets a temporary
/// Scalar become unreachable mid-call has it finalized under the native op ("Unknown scalar type", "Expected false to be
/// true"). Before the fix (TorchSharp's AdamW, Tensor + Tensor, arange(n)) the dense test failed 8 and 13 of 96 units.
/// </summary>
/// <remarks>Every unit is independent, so one failure does not hide the others and the count says how often the race is lost.</remarks>
public sealed class GcStressTests(ITestOutputHelper output)
{
    // Tiny units: thousands of TorchSharp calls per unit, little arithmetic between them.
    private const int Units = 96;
    private const int InnerSteps = 8;
    private const int BatchSize = 1;
    private const int SeqLen = 8;
    private const int EvalBatches = 2;

    // More trainers than cores: a thread preempted inside a native call leaves the collector time to free its Scalar.
    private const int Workers = 3;

    // Bounds the collector thread even if the trainers hang: far more collections than the units need.
    private const int MaxCollections = 2_000_000;
    private static readonly TimeSpan MaxCollectorTime = TimeSpan.FromMinutes(3);

    private static readonly ModelConfig Tiny = ModelConfig.Preset("tiny");
    private static readonly ShardSpec TwoOfFour = new([new(0, 0), new(0, 2), new(1, 1), new(1, 3)]);

    [Fact]
    public void DenseTrainingAndEvaluationSurviveConstantGarbageCollection()
    {
        var dense = Tiny.AsDense();
        AssertSurvives(dense, ShardSpec.Full(dense));
    }

    [SkippableFact]
    public void MoeShardTrainingAndEvaluationSurviveConstantGarbageCollection()
    {
        // The MoE layer is being rewritten on branch h18-speed (GcSafetyGuardTests.PendingRewrite); until its IL is clean this
        // would only measure the known race there. It runs by itself as soon as the layer makes no unheld Scalar.
        var moeLayer = typeof(LocalTrainer).Assembly.GetType("Hivemind.Training.MoeFeedForward", throwOnError: true)!;
        var unsafeCalls = TorchSharpScalarAudit.UnsafeCallsIn(moeLayer).Distinct().ToList();
        Skip.If(unsafeCalls.Count > 0, $"MoeFeedForward still builds unheld Scalars:\n{string.Join('\n', unsafeCalls)}");
        AssertSurvives(Tiny, TwoOfFour);
    }

    private void AssertSurvives(ModelConfig config, ShardSpec shard)
    {
        TestTorch.Use();
        var failures = new ConcurrentQueue<string>();
        int collections;
        int next = -1;
        var watch = Stopwatch.StartNew();
        using (var collector = new Collector())
        {
            // Several trainers at once, as tests and volunteers run: each one's calls race the others' allocations too.
            var threads = Enumerable.Range(0, Workers).Select(_ => new Thread(() =>
            {
                for (int unit; (unit = Interlocked.Increment(ref next)) < Units;)
                {
                    if (RunUnit(unit, config, shard) is { } failure) failures.Enqueue(failure);
                }
            }) { IsBackground = true, Name = "gc-stress-trainer" }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            collections = collector.Stop();
        }

        output.WriteLine($"{config.Name}: {Units} units on {Workers} threads, {collections} forced collections in {watch.Elapsed.TotalSeconds:F1} s, {failures.Count} failed");
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(collections > Units, $"the collector ran only {collections} times; the test did not stress anything");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {Units} units failed under constant GC:\n{string.Join('\n', failures)}");
    }

    private static string? RunUnit(int unit, ModelConfig config, ShardSpec shard)
    {
        try
        {
            var start = ModelInit.Initialize(config, unit, shard);
            var options = new LocalTrainingOptions(InnerSteps, BatchSize, SeqLen, LearningRate: 3e-3, WeightDecay: 0.1,
                WarmupSteps: 1, ClipNorm: 1.0, Seed: unit);
            var result = LocalTrainer.Train(config, start, shard, TestData.Train(unit), options);
            if (!double.IsFinite(result.MeanLoss)) return $"unit {unit}: mean loss {result.MeanLoss}";
            var eval = Evaluator.Evaluate(config, start, TestData.HeldOut(unit), EvalBatches, BatchSize, SeqLen, optimum: null);
            return double.IsFinite(eval.Loss) ? null : $"unit {unit}: held-out loss {eval.Loss}";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"unit {unit}: {e.GetType().Name}: {e.Message.Split('\n')[0]} at {Where(e)}";
        }
    }

    // The first frames, enough to name the call that lost the race.
    private static string Where(Exception e) =>
        string.Join(" <- ", (e.StackTrace ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("at ", StringComparison.Ordinal))
            .Select(l => l[3..].Split(" in ")[0]).Take(4));

    /// <summary>A background thread that runs gen-0 collections and the finalizers back to back until stopped (bounded in count and time).</summary>
    private sealed class Collector : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private int _count;

        public Collector()
        {
            _thread = new Thread(Loop) { IsBackground = true, Name = "gc-stress-collector" };
            _thread.Start();
        }

        public int Stop()
        {
            _stop = true;
            _thread.Join();
            return _count;
        }

        public void Dispose()
        {
            if (!_stop) Stop();
        }

        private void Loop()
        {
            var watch = Stopwatch.StartNew();
            while (!_stop && _count < MaxCollections && watch.Elapsed < MaxCollectorTime)
            {
                // Gen 0 only: the temporaries that race are young, so cheap collections can run back to back. Waiting for
                // the finalizers frees a Scalar found dead right away, while its native call may still be reading it.
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
                _count++;
            }
        }
    }
}
