namespace Hivemind.Training.Tests;

/// <summary>The micro preset (the faithful simulator's large matrices) builds, trains its whole model, and learns.</summary>
public sealed class MicroPresetTests
{
    [Fact]
    public void Micro_trains_every_parameter_and_lowers_the_loss()
    {
        TestTorch.Use();
        var micro = ModelConfig.Preset("micro");
        micro.Validate();
        var shard = ShardSpec.Full(micro);
        var start = ModelInit.Initialize(micro, 1, shard);
        var options = new LocalTrainingOptions(InnerSteps: 30, BatchSize: 4, SeqLen: 16, LearningRate: 1e-2, WeightDecay: 0.01, WarmupSteps: 1, ClipNorm: 1.0, Seed: 5);

        var first = LocalTrainer.Train(micro, start, shard, TestData.Train(slice: 3), options with { InnerSteps = 1 });
        var trained = LocalTrainer.Train(micro, start, shard, TestData.Train(slice: 3), options);

        Assert.Equal(start.Names, trained.PseudoGradient.Names);
        Assert.All(trained.PseudoGradient, t => Assert.Contains(t.Values, v => v != 0f));
        // 30 steps on byte data move the mean loss well below the first step's (ln 256 = 5.55 at initialization).
        Assert.True(trained.MeanLoss < first.MeanLoss - 0.3, $"micro did not learn: mean loss {trained.MeanLoss} after 30 steps, {first.MeanLoss} at the first");
        Assert.InRange(micro.TotalParameters, 5_000, 50_000);
    }
}
