using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Tests.Infrastructure;

namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary>A round's skipped expert groups and durations are in the store, so the round history survives a restart.</summary>
public sealed class RoundStatsTests
{
    [Fact]
    public void SkippedGroupsAndTimingsSurviveARestartAndReachTheRoundHistory()
    {
        // Two holders per expert against a minimum of three: every expert group of the round is skipped.
        using var h = new EngineHarness(o => o with { Quorum = 2, MinExpertHolders = 3, EvalBatches = 0 });
        foreach (var v in new[] { h.Join(), h.Join() }) v.Work();
        var summary = h.Engine.Tick()!;
        Assert.NotEmpty(summary.SkippedGroupNames);

        h.Restart();

        var stats = Assert.Single(h.Engine.Store.RoundStats());
        Assert.Equal(summary.Round, stats.Round);
        Assert.Equal(summary.SkippedGroups, stats.SkippedGroups);
        Assert.Equal(summary.SkippedGroupNames, stats.SkippedGroupNames);
        Assert.Equal(summary.UnderReplicatedGroups, stats.UnderReplicatedGroups);
        Assert.Equal(summary.AggregationTime.TotalSeconds, stats.AggregationSeconds);
        Assert.Equal(summary.PublishTime.TotalSeconds, stats.PublishSeconds);

        // A dashboard started after the restart (no events seen) shows them from the store.
        using var model = new DashboardReadModel(DashboardFacts.From(h.Engine), h.Time);
        var round = model.Refresh().Rounds[0];
        Assert.Equal(summary.SkippedGroups, round.SkippedGroups);
        Assert.Equal(summary.AggregationTime.TotalSeconds, round.AggregationSeconds);
        Assert.Equal(summary.PublishTime.TotalSeconds, round.CloseSeconds);
        Assert.Contains("expert.0.0 (2 of 3 holders)", round.SkippedGroupNames, StringComparison.Ordinal);
    }
}
