namespace Hivemind.Training.Tests;

/// <summary>Presets validate, parameter counts agree with the actual layout, bad configurations are named.</summary>
public sealed class ModelConfigTests
{
    public static TheoryData<string> Presets => new(ModelConfig.PresetNames);

    [Theory]
    [MemberData(nameof(Presets))]
    public void PresetValidatesAndCountsMatchLayout(string name)
    {
        var config = ModelConfig.Preset(name);
        config.Validate();
        foreach (var c in new[] { config, config.AsDense() })
        {
            long counted = ParameterLayout.Describe(c).Sum(p => p.Shape.Aggregate(1L, (a, b) => a * b));
            Assert.Equal(c.TotalParameters, counted);
        }
        // The dense twin has the same active parameters per token, minus the router it does not need.
        Assert.Equal(config.ActiveParametersPerToken - (long)config.Layers * config.Experts * config.Width, config.AsDense().ActiveParametersPerToken);
        Assert.True(config.TrainingFlopsPerToken > 6.0 * config.ActiveMatmulParametersPerToken);
    }

    [Fact]
    public void BaseIsAboutOneHundredMillionParameters()
    {
        long total = ModelConfig.Preset("base").TotalParameters;
        Assert.InRange(total, 80_000_000, 120_000_000); // 95.3M
    }

    [Fact]
    public void UnknownPresetNamesTheChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelConfig.Preset("huge"));
        Assert.Contains("'huge'", e.Message);
        Assert.Contains("tiny, small, base", e.Message);
    }

    [Fact]
    public void TopKAboveExpertCountIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => (ModelConfig.Preset("tiny") with { TopK = 5 }).Validate());
        Assert.Contains("TopK 5 is larger than the expert count 4", e.Message);
    }

    [Fact]
    public void WidthNotDivisibleByHeadsIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => (ModelConfig.Preset("tiny") with { Heads = 3 }).Validate());
        Assert.Contains("Width 64 is not divisible by Heads 3", e.Message);
    }
}
