using Hivemind.Protocol.Tensors;
using TorchSharp;

namespace Hivemind.Training.Tests;

/// <summary>A work unit is deterministic, covers exactly its shard, never leaks tensors and never returns a NaN update.</summary>
public sealed class LocalTrainerTests
{
    private static readonly ModelConfig Tiny = ModelConfig.Preset("tiny");
    private static readonly ShardSpec Shard = new([new(0, 0), new(0, 2), new(1, 1), new(1, 3)]);

    private static LocalTrainingOptions Options(int steps = 4) =>
        new(InnerSteps: steps, BatchSize: 4, SeqLen: 32, LearningRate: 3e-3, WeightDecay: 0.1, WarmupSteps: 2, ClipNorm: 1.0, Seed: 5);

    private static LocalTrainingResult Run(ParameterSet start, LocalTrainingOptions options, IProgress<TrainingProgress>? progress = null) =>
        LocalTrainer.Train(Tiny, start, Shard, TestData.Train(slice: 3), options, progress);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SameInputsGiveBitwiseSameUpdate(int threads)
    {
        TestTorch.Use(threads);
        try
        {
            var start = ModelInit.Initialize(Tiny, 1, Shard);
            var a = Run(start, Options(3));
            var b = Run(start, Options(3));
            ShardTests.AssertBitwiseEqual(a.PseudoGradient, b.PseudoGradient);
            Assert.Equal(a.MeanLoss, b.MeanLoss);
            Assert.Equal(3L * 4 * 32, a.Tokens);
            // The update covers exactly the shard and is not trivially zero.
            Assert.Equal(start.Names, a.PseudoGradient.Names);
            Assert.All(a.PseudoGradient, t => Assert.Contains(t.Values, v => v != 0f));
        }
        finally
        {
            TestTorch.Use();
        }
    }

    [Fact]
    public void LabelFlipHookChangesTheUpdate()
    {
        TestTorch.Use();
        var start = ModelInit.Initialize(Tiny, 1, Shard);
        var honest = Run(start, Options(2));
        var flipped = Run(start, Options(2) with { TargetTransform = t => { foreach (ref long x in t) x = 255 - x; } });
        Assert.NotEqual(honest.PseudoGradient["head.weight"].Values, flipped.PseudoGradient["head.weight"].Values);
    }

    [Fact]
    public void NonFiniteLossStopsTheUnit()
    {
        TestTorch.Use();
        var start = ModelInit.Initialize(Tiny, 1, Shard);
        start["head.weight"].Values[3] = float.NaN;
        var e = Assert.Throws<NonFiniteLossException>(() => Run(start, Options(2)));
        Assert.Equal(1, e.Step);
        Assert.Contains("inner step 1", e.Message);
    }

    [Fact]
    public void NoTensorOutlivesItsStep()
    {
        TestTorch.Use();
        var start = ModelInit.Initialize(Tiny, 1, Shard);
        Run(start, Options(1)); // first run warms lazy statics
        var stats = DisposeScopeManager.Statistics;
        long liveBefore = stats.ThreadTotalLiveCount;
        var liveAtStep = new List<long>();
        Run(start, Options(6), new SyncProgress(_ => liveAtStep.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount)));
        // FlatAdamW makes its buffers before the first step, so every step must end where the first one did.
        Assert.Equal(6, liveAtStep.Count);
        Assert.All(liveAtStep, live => Assert.Equal(liveAtStep[0], live));
        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void DenseVariantTrainsThroughTheSamePath()
    {
        TestTorch.Use();
        var dense = Tiny.AsDense();
        var start = ModelInit.Initialize(dense, 1);
        var result = LocalTrainer.Train(dense, start, ShardSpec.Full(dense), TestData.Train(4), Options(2));
        Assert.Equal(start.Names, result.PseudoGradient.Names);
        Assert.Contains("blocks.1.mlp.w1", result.PseudoGradient.Names);
        Assert.DoesNotContain(result.PseudoGradient.Names, n => n.Contains(".moe.", StringComparison.Ordinal));
    }

    [Fact]
    public void BadOptionsAreNamed()
    {
        var start = ModelInit.Initialize(Tiny, 1, Shard);
        var e = Assert.Throws<ArgumentException>(() => Run(start, Options() with { SeqLen = 65 }));
        Assert.Contains("SeqLen is 65", e.Message);
        var f = Assert.Throws<ArgumentException>(() => LocalTrainer.Train(Tiny, ModelInit.Initialize(Tiny, 1), Shard, TestData.Train(1), Options()));
        Assert.Contains("extract the shard first", f.Message);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
