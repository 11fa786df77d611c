using Hivemind.Simulations.Reports;

namespace Hivemind.Simulations.Tests;

/// <summary>Seeds and intervals: verdicts only where the 95% interval supports them.</summary>
public sealed class IntervalTests
{
    [Fact]
    public void The_interval_is_the_student_t_interval_of_the_mean()
    {
        var i = Interval.Of([1.0, 2.0, 3.0]);

        // mean 2, sample sd 1, t(2) = 4.303: half-width 4.303 / sqrt(3).
        Assert.Equal(2, i.Mean, 12);
        Assert.Equal(2 - 4.303 / Math.Sqrt(3), i.Low, 9);
        Assert.Equal(2 + 4.303 / Math.Sqrt(3), i.High, 9);
        Assert.False(Interval.Of([1.0]).HasInterval);
    }

    [Theory]
    [InlineData(new[] { 1.0, 1.02, 0.98 }, AttackVerdict.Held)]
    [InlineData(new[] { 1.5, 1.6, 1.55 }, AttackVerdict.Broke)]
    [InlineData(new[] { 1.202, 1.010, 0.891 }, AttackVerdict.Inconclusive)] // the review's Krum-under-IPM seeds
    [InlineData(new[] { 1.9 }, AttackVerdict.Inconclusive)]
    [InlineData(new[] { double.PositiveInfinity, double.PositiveInfinity }, AttackVerdict.Broke)]
    [InlineData(new[] { double.PositiveInfinity, 1.0 }, AttackVerdict.Inconclusive)]
    public void A_verdict_needs_the_whole_interval_on_one_side(double[] ratios, string expected)
    {
        Assert.Equal(expected, AttackVerdict.Of(ratios));
    }
}
