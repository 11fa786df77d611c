using Xunit.Abstractions;

namespace Hivemind.Training.Tests;

/// <summary>
/// Training and evaluation with the garbage collector running all the time: a TorchSharp call that lets a temporary
/// Scalar become unreachable mid-call has it finalized under the native op ("Unknown scalar type", or a wrong value).
/// </summary>
/// <remarks>
/// Before the GC-safety fix this reproduced the crash: see the count in the README (Troubleshooting). Every unit is
/// independent, so one failure does not hide the others and the count says how often the race is lost.
/// </remarks>
public sealed class GcStressTests(ITestOutputHelper output)
{
    // Tiny units keep the test short while still running thousands of TorchSharp calls per unit.
    private const int Units = 192;
    private const int InnerSteps = 8;
    private const int BatchSize = 1;
    private const int SeqLen = 8;
    private const int EvalBatches = 2;

    // More trainers than cores: a thread preempted inside a native call leaves the collector time to free its Scalar.
    private const int Workers = 3;

    // Bounds the collector thread even if the main loop hangs: far more collections than the units need.
    private const int MaxCollections = 2_000_000;
    private static readonly TimeSpan MaxCollectorTime = TimeSpan.FromMinutes(3);

    private static readonly ShardSpec TwoOfFour = new([new(0, 0), new(0, 2), new(1, 1), new(1, 3)]);

    [Fact]
    public void TrainingAndEvaluationSurviveConstantGarbageCollection()
    {
        TestTorch.Use();
        var moe = ModelConfig.Preset("tiny");
        var dense = moe.AsDense();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int collections;
        int next = -1;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using (var collector = new Collector())
        {
            // Several trainers at once, as tests and volunteers run: each one's calls race the others' allocations too.
            var threads = Enumerable.Range(0, Workers).Select(_ => new Thread(() =>
            {
                for (int unit; (unit = Interlocked.Increment(ref next)) < Units;)
                {
                    var failure = RunUnit(unit, moe, dense);
                    if (failure is not null) failures.Enqueue(failure);
                }
            }) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            collections = collector.Stop();
        }

        output.WriteLine($"{Units} units, {collections} forced collections in {watch.Elapsed.TotalSeconds:F1} s, {failures.Count} failed");
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(collections > Units, $"the collector ran only {collections} times; the test did not stress anything");
        Assert.True(failures.Count == 0, $"{failures.Count} of {Units} units failed under constant GC:\n{string.Join('\n', failures)}");
    }

    private static string? RunUnit(int unit, ModelConfig moe, ModelConfig dense)
    {
        // Alternate MoE shard and dense model so both forward paths run under the collector.
        var config = unit % 2 == 0 ? moe : dense;
        var shard = unit % 2 == 0 ? TwoOfFour : ShardSpec.Full(dense);
        try
        {
            var start = ModelInit.Initialize(config, unit, shard);
            var options = new LocalTrainingOptions(InnerSteps, BatchSize, SeqLen, LearningRate: 3e-3, WeightDecay: 0.1,
                WarmupSteps: 1, ClipNorm: 1.0, Seed: unit);
            var result = LocalTrainer.Train(config, start, shard, TestData.Train(unit), options);
            if (!double.IsFinite(result.MeanLoss)) return $"unit {unit} ({config.Name}): mean loss {result.MeanLoss}";
            var eval = Evaluator.Evaluate(config, start, TestData.HeldOut(unit), EvalBatches, BatchSize, SeqLen, optimum: null);
            if (!double.IsFinite(eval.Loss)) return $"unit {unit} ({config.Name}): held-out loss {eval.Loss}";
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"unit {unit} ({config.Name}): {e.GetType().Name}: {e.Message.Split('\n')[0]} at {Where(e)}";
        }
    }

    // The first frames of our code and TorchSharp's, enough to name the call that lost the race.
    private static string Where(Exception e) =>
        string.Join(" <- ", (e.StackTrace ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("at ", StringComparison.Ordinal))
            .Select(l => l[3..].Split(" in ")[0]).Take(4));

    /// <summary>A background thread that collects and runs finalizers in a loop until stopped (bounded in count and time).</summary>
    private sealed class Collector : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private int _count;

        public Collector()
        {
            _thread = new Thread(Loop) { IsBackground = true, Name = "gc-stress" };
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
            var watch = System.Diagnostics.Stopwatch.StartNew();
            while (!_stop && _count < MaxCollections && watch.Elapsed < MaxCollectorTime)
            {
                // Gen-0 only: the temporaries that race are young, so cheap collections can run back to back. Waiting for
                // the finalizers frees a Scalar found dead right away, while its native call may still be reading it.
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
                _count++;
            }
        }
    }
}
