using Hivemind.Protocol.Tensors;

namespace Hivemind.Training.Tests;

/// <summary>The outer Nesterov step matches hand-computed values, touches only the given tensors, and survives save/load.</summary>
public sealed class OuterOptimizerTests
{
    private static ParameterSet Params(float a, float b) => new([new NamedTensor("a", [1], [a]), new NamedTensor("b", [1], [b])]);

    [Fact]
    public void NesterovStepsMatchHandComputation()
    {
        var opt = new OuterOptimizer(lr: 0.5, momentum: 0.75, nesterov: true);
        var theta = Params(1f, 1f);
        var delta = new ParameterSet([new NamedTensor("a", [1], [0.5f])]);
        opt.Step(theta, delta);   // m = 0.5, u = 0.5 + 0.75*0.5 = 0.875, θ = 1 - 0.4375
        Assert.Equal(0.5625f, theta["a"].Values[0]);
        Assert.Equal(1f, theta["b"].Values[0]);   // not in the delta: untouched
        opt.Step(theta, delta);   // m = 0.875, u = 0.5 + 0.65625 = 1.15625, θ = 0.5625 - 0.578125
        Assert.Equal(-0.015625f, theta["a"].Values[0]);
    }

    [Fact]
    public void PlainSgdWithUnitRateLandsOnTheInnerResult()
    {
        // H-step DiLoCo with one worker, lr 1 and no momentum is just the inner optimizer.
        var opt = new OuterOptimizer(lr: 1, momentum: 0, nesterov: false);
        var theta = Params(0.25f, -2f);
        opt.Step(theta, Params(0.25f - 0.125f, -2f - 3f));
        Assert.Equal(0.125f, theta["a"].Values[0]);
        Assert.Equal(3f, theta["b"].Values[0]);
    }

    [Fact]
    public void SavedStateContinuesIdentically()
    {
        var opt = new OuterOptimizer(0.7, 0.9);
        var theta = Params(1f, 2f);
        opt.Step(theta, Params(0.1f, -0.2f));
        var restored = OuterOptimizer.LoadState(opt.SaveState());
        Assert.Equal(1, restored.Steps);
        var thetaCopy = theta.Clone();
        opt.Step(theta, Params(0.3f, 0.05f));
        restored.Step(thetaCopy, Params(0.3f, 0.05f));
        ShardTests.AssertBitwiseEqual(theta, thetaCopy);
    }

    [Fact]
    public void CorruptStateAndBadDeltasAreRejected()
    {
        var state = new OuterOptimizer(0.7, 0.9).SaveState();
        Assert.Throws<InvalidDataException>(() => OuterOptimizer.LoadState(state[..^3]));
        var opt = new OuterOptimizer(0.7, 0.9);
        var theta = Params(1f, 2f);
        var e = Assert.Throws<ArgumentException>(() => opt.Step(theta, Params(float.NaN, 0f)));
        Assert.Contains("'a'", e.Message);
        Assert.Equal(1f, theta["a"].Values[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new OuterOptimizer(0.7, 1.0));
    }
}
