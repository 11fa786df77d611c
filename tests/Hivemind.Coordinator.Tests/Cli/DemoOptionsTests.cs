using Hivemind.Coordinator.Demo;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>The demo's coordinator settings: real text averages the units' models, the synthetic corpus keeps DiLoCo's outer step.</summary>
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
    public void TheSyntheticCorpusKeepsDiLoCosNesterovOuterStep()
    {
        var defaults = new CoordinatorOptions();

        var options = DemoRunner.Options(DemoSettings.Default, "/tmp/demo");

        Assert.Equal(defaults.OuterLearningRate, options.OuterLearningRate);
        Assert.Equal(defaults.OuterMomentum, options.OuterMomentum);
        Assert.True(options.OuterMomentum > 0, "the synthetic demo's outer step has momentum");
        Assert.Equal("", options.Data);
    }
}
