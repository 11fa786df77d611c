using Hivemind.Simulations.Scale;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Tests;

public sealed class ClusterMatcherTests
{
    [Fact]
    public void Cluster_tokens_per_second_is_count_times_peak_times_utilization_over_flops()
    {
        var a100 = new DeviceTable()["a100"];
        var cluster = new ClusterTarget("64×A100", a100, 64, 0.5);

        Assert.Equal(64 * 312e12 * 0.5 / TinyModel.FlopsPerToken, cluster.TokensPerSecond(new ModelCost(TinyModel.Shape)), 3);
    }

    [Fact]
    public void Search_finds_the_smallest_pool_reaching_the_cluster()
    {
        // Each volunteer trains 10,000 tokens per 15.912 s round; a cluster worth 10.5 volunteers needs 11.
        double target = 10.5 * 1e4 / TinyModel.UnitSeconds;
        double peak = target * TinyModel.FlopsPerToken / 1e12;
        var cluster = new ClusterTarget("ten and a half", TinyModel.Slow with { PeakBf16Tflops = peak }, 1, 1.0);

        var match = ClusterMatcher.Find(n => TinyModel.Config(n), cluster, 2, 100, "slow", 0.008);

        Assert.Equal(11, match.VolunteersNeeded);
        Assert.True(match.Best.TokensPerSecond >= target);
    }

    [Fact]
    public void Search_reports_no_match_when_the_cap_is_too_low()
    {
        double peak = 50 * 1e4 / TinyModel.UnitSeconds * TinyModel.FlopsPerToken / 1e12;
        var cluster = new ClusterTarget("fifty", TinyModel.Slow with { PeakBf16Tflops = peak }, 1, 1.0);

        var match = ClusterMatcher.Find(n => TinyModel.Config(n), cluster, 2, 20, "slow", 0.008);

        Assert.Null(match.VolunteersNeeded);
        Assert.Equal(20, match.BestVolunteers);
    }
}
