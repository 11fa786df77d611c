using Hivemind.Coordinator.Demo;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>
/// The demo's coordinator settings: real text averages the units' models after 30 inner steps of 512 tokens at 1e-2 (8 × 64 on `tiny`,
/// 4 × 128 on `tiny-wide`), the synthetic corpus keeps DiLoCo's outer step and 10 inner steps of 8 × 64 at the coordinator's default
/// rate; flags override either.
/// </summary>
public sealed class DemoOptionsTests
{
    [Fact]
    public void RealTextAveragesTheUnitsModelsAsItsOuterStep()
    {
        var options = DemoRunner.Options(DemoSettings.Default with { Preset = DemoSettings.TextPreset } with { Data = "/corpus" }, "/tmp/demo");

        Assert.Equal(1.0, options.OuterLearningRate);
        Assert.Equal(0.0, options.OuterMomentum);
        Assert.Equal("/corpus", options.Data);
        options.Validate();
    }

    [Fact]
    public void RealTextTrainsThirtyInnerStepsAtLearningRate1eMinus2()
    {
        var options = DemoRunner.Options(DemoSettings.Default with { Preset = DemoSettings.TextPreset, Data = "/corpus" }, "/tmp/demo");

        Assert.Equal(30, options.InnerSteps);
        Assert.Equal(1e-2, options.InnerLearningRate);
        Assert.Equal(new CoordinatorOptions().WarmupSteps, options.WarmupSteps);
    }

    [Fact]
    public void RealTextStepsAre512TokensCutToTheModelsContextUpTo128()
    {
        var wide = DemoRunner.Options(DemoSettings.Default with { Preset = "tiny-wide", Data = "/corpus" }, "/tmp/demo");
        var tiny = DemoRunner.Options(DemoSettings.Default with { Preset = DemoSettings.TextPreset, Data = "/corpus" }, "/tmp/demo");
        var small = DemoRunner.Options(DemoSettings.Default with { Preset = "small", Data = "/corpus" }, "/tmp/demo");

        Assert.Equal("tiny", DemoSettings.TextPreset);
        Assert.Equal((4, 128), (wide.BatchSize, wide.SequenceLength));
        Assert.Equal((8, 64), (tiny.BatchSize, tiny.SequenceLength));
        Assert.Equal((4, 128), (small.BatchSize, small.SequenceLength));
        wide.Validate();
        tiny.Validate();
    }

    [Fact]
    public void TheSyntheticCorpusKeepsDiLoCosNesterovOuterStep()
    {
        var defaults = new CoordinatorOptions();

        var options = DemoRunner.Options(DemoSettings.Default, "/tmp/demo");

        Assert.Equal(defaults.OuterLearningRate, options.OuterLearningRate);
        Assert.Equal(defaults.OuterMomentum, options.OuterMomentum);
        Assert.True(options.OuterMomentum > 0, "the synthetic demo's outer step has momentum");
        Assert.Equal(10, options.InnerSteps);
        Assert.Equal(defaults.InnerLearningRate, options.InnerLearningRate);
        Assert.Equal((defaults.BatchSize, defaults.SequenceLength), (options.BatchSize, options.SequenceLength));
        Assert.Equal("", options.Data);
    }

    [Fact]
    public void FlagsOverrideTheDemosInnerStepsLearningRateAndMomentum()
    {
        var settings = DemoSettings.Default with { Preset = DemoSettings.TextPreset, Data = "/corpus", InnerSteps = 7, InnerLearningRate = 2e-3, OuterMomentum = 0.25 };

        var options = DemoRunner.Options(settings, "/tmp/demo");

        Assert.Equal(7, options.InnerSteps);
        Assert.Equal(2e-3, options.InnerLearningRate);
        Assert.Equal(0.25, options.OuterMomentum);
        options.Validate();
    }

    [Fact]
    public void ALargerHGetsALongerLeaseAndRoundDeadline()
    {
        var few = DemoRunner.Options(DemoSettings.Default with { InnerSteps = 1 }, "/tmp/demo");
        var many = DemoRunner.Options(DemoSettings.Default with { InnerSteps = 1000 }, "/tmp/demo");

        Assert.Equal(TimeSpan.FromMinutes(2), few.LeaseDuration);
        Assert.True(many.LeaseDuration > few.LeaseDuration, $"H = 100 got a lease of {many.LeaseDuration}");
        Assert.Equal(many.LeaseDuration, many.RoundTimeout);
        Assert.True(many.MaxLeaseDuration >= many.LeaseDuration);
        many.Validate();
    }
}
