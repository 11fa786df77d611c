namespace Hivemind.Training.Tests;

/// <summary>
/// The trainer's learning-rate schedule: linear warm-up, then constant (every work unit) or a half-cosine decay to a fraction of the
/// peak (central runs, <see cref="LocalTrainingOptions.FinalLearningRateFraction"/>).
/// </summary>
public sealed class LearningRateScheduleTests
{
    private const double Peak = 3e-3;

    private static LocalTrainingOptions Options(int steps, int warmup, double finalFraction = 1.0) =>
        new(InnerSteps: steps, BatchSize: 4, SeqLen: 32, LearningRate: Peak, WeightDecay: 0.01, WarmupSteps: warmup, ClipNorm: 1.0, Seed: 5)
        {
            FinalLearningRateFraction = finalFraction,
        };

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void TheDefaultIsTheOldWarmupThenConstantBitForBit(int warmup)
    {
        var options = Options(40, warmup);
        for (int step = 0; step < 40; step++)
        {
            double old = warmup == 0 ? Peak : Peak * Math.Min(1.0, (step + 1) / (double)warmup);
            Assert.Equal(old, options.LearningRateAt(step));
        }
    }

    [Fact]
    public void CosineDecayStartsAtThePeakAfterTheWarmupAndEndsAtTheFraction()
    {
        const int steps = 106, warmup = 5;
        var options = Options(steps, warmup, finalFraction: 0.1);
        Assert.Equal(Peak / warmup, options.LearningRateAt(0), 12);
        Assert.Equal(Peak, options.LearningRateAt(warmup - 1), 12);
        Assert.Equal(Peak, options.LearningRateAt(warmup), 12);
        Assert.Equal(0.1 * Peak, options.LearningRateAt(steps - 1), 12);
        // Halfway through the decay the cosine is at its mean: (1 + f) / 2 of the peak.
        Assert.Equal(0.55 * Peak, options.LearningRateAt(warmup + (steps - warmup - 1) / 2), 12);
        for (int step = warmup + 1; step < steps; step++)
            Assert.True(options.LearningRateAt(step) < options.LearningRateAt(step - 1), $"step {step} did not decay");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void AFinalFractionOutsideZeroToOneIsRefusedByName(double fraction)
    {
        var e = Assert.Throws<ArgumentException>(() => Options(10, 2, fraction).Validate(ModelConfig.Preset("tiny")));
        Assert.Contains("FinalLearningRateFraction", e.Message, StringComparison.Ordinal);
        Assert.Contains("(0, 1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTrainerFollowsTheSchedule()
    {
        var tiny = ModelConfig.Preset("tiny");
        var shard = ShardSpec.Full(tiny);
        var start = ModelInit.Initialize(tiny, 1, shard);
        var constant = LocalTrainer.Train(tiny, start, shard, TestData.Train(slice: 3), Options(6, 1));
        var decayed = LocalTrainer.Train(tiny, start, shard, TestData.Train(slice: 3), Options(6, 1, finalFraction: 0.1));
        // The first two steps run at the same rate, so only the decay can make the updates differ.
        Assert.NotEqual(constant.PseudoGradient.First().Values, decayed.PseudoGradient.First().Values);
        Assert.Equal(constant.Tokens, decayed.Tokens);
    }
}
