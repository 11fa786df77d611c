namespace Hivemind.Data.Tests;

/// <summary>Hand-built chains whose entropy is known in closed form.</summary>
public sealed class MarkovChainTests
{
    private const int Half = MarkovChain.ProbabilityScale / 2;
    private const int Quarter = MarkovChain.ProbabilityScale / 4;
    private const int Whole = MarkovChain.ProbabilityScale;

    // 1e-12: the power iteration stops at an L1 step of 1e-14; nothing else is approximate.
    private const double Exact = 1e-12;

    [Fact]
    public void TwoStateChainHasClosedFormEntropy()
    {
        // a -> a or b with 1/2 each; b -> a always. Stationary (2/3, 1/3); h = 2/3 ln 2.
        var chain = new MarkovChain("ab"u8, 1, [0, 1, 0, 1], [Half, Half, Whole, 0]);

        Assert.Equal(2.0 / 3, chain.Stationary[0], Exact);
        Assert.Equal(1.0 / 3, chain.Stationary[1], Exact);
        Assert.Equal(2.0 / 3 * Math.Log(2), chain.EntropyRate, Exact);
        double firstByte = -(2.0 / 3 * Math.Log(2.0 / 3) + 1.0 / 3 * Math.Log(1.0 / 3));
        Assert.Equal(firstByte, chain.OptimalLoss(1), Exact);
        Assert.Equal((firstByte + 9 * chain.EntropyRate) / 10, chain.OptimalLoss(10), Exact);
    }

    [Fact]
    public void ThreeStateChainHasClosedFormEntropy()
    {
        // a -> b, b -> c, c -> a (1/4) or c (3/4). Balance gives pi = (1/6, 1/6, 2/3).
        var chain = new MarkovChain("abc"u8, 1, [1, 0, 2, 0, 0, 2], [Whole, 0, Whole, 0, Quarter, 3 * Quarter]);

        Assert.Equal(1.0 / 6, chain.Stationary[0], Exact);
        Assert.Equal(2.0 / 3, chain.Stationary[2], Exact);
        double hc = -(0.25 * Math.Log(0.25) + 0.75 * Math.Log(0.75));
        Assert.Equal(2.0 / 3 * hc, chain.EntropyRate, Exact);
    }

    [Fact]
    public void OrderTwoBlockEntropyIsTheMarginalOfTheState()
    {
        // Order 2 over {x, y}: after "xx" always y, otherwise fair coin. States xx, xy, yx, yy.
        var chain = new MarkovChain("xy"u8, 2, [1, 0, 0, 1, 0, 1, 0, 1], [Whole, 0, Half, Half, Half, Half, Half, Half]);

        // Balance: pi(xx) = pi(yx)/2, pi(xy) = pi(xx) + pi(yx)/2 ... solved: (1/7, 2/7, 2/7, 2/7).
        Assert.Equal(1.0 / 7, chain.Stationary[0], Exact);
        Assert.Equal(2.0 / 7, chain.Stationary[3], Exact);
        Assert.Equal(6.0 / 7 * Math.Log(2), chain.EntropyRate, Exact);
        double pairs = -(1.0 / 7 * Math.Log(1.0 / 7) + 3 * (2.0 / 7) * Math.Log(2.0 / 7));
        Assert.Equal(pairs, chain.BlockEntropy(2), Exact);
        Assert.Equal(pairs + 3 * chain.EntropyRate, chain.BlockEntropy(5), Exact);
        Assert.Equal(1.0, chain.Probability("xx"u8, (byte)'y'));
        Assert.Equal(0.0, chain.Probability("xx"u8, (byte)'x'));
    }

    [Fact]
    public void TwoClosedClassesAreRefused()
    {
        // a -> a and b -> b: two absorbing states, no unique stationary distribution.
        var e = Assert.Throws<ArgumentException>(() => new MarkovChain("ab"u8, 1, [0, 1], [Whole, Whole]));

        Assert.Contains("more than one closed class", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CountsThatDoNotSumToTheScaleAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new MarkovChain("ab"u8, 1, [0, 1, 0, 1], [Half, Half, Half, 0]));

        Assert.Contains("State 1: counts sum to 32768, not 65536", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GeneratedStreamFollowsTheTransitions()
    {
        var chain = new MarkovChain("ab"u8, 1, [0, 1, 0, 1], [Half, Half, Whole, 0]);
        var bytes = new byte[10_000];
        chain.Generate(7, bytes);

        // b is always followed by a, so "bb" never occurs; and both letters do occur.
        Assert.DoesNotContain("bb", System.Text.Encoding.ASCII.GetString(bytes), StringComparison.Ordinal);
        Assert.Contains((byte)'a', bytes);
        Assert.Contains((byte)'b', bytes);
    }
}
