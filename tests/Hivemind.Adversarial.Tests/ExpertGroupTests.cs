using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 8: an expert group with fewer holders than the rule needs is skipped, named in the round log, and left unchanged.</summary>
public sealed class ExpertGroupTests
{
    [Fact]
    public void GroupsBelowTheMinimumHoldersAreSkippedAndNamed()
    {
        using var h = new EngineHarness(o => o with { Quorum = 2, MinExpertHolders = 3 });
        var log = new List<string>();
        h.Engine.Log += log.Add;
        var before = h.Engine.GlobalParameters();
        foreach (var v in new[] { h.Join(), h.Join() }) v.Work();
        var summary = h.Engine.Tick()!;
        int groups = h.Engine.Model.Layers * h.Engine.Model.Experts;
        Assert.Equal(groups, summary.SkippedGroupNames.Count);
        Assert.Contains(log, l => l.Contains("not updated", StringComparison.Ordinal) && l.Contains("expert.0.0 (2 of 3 holders)", StringComparison.Ordinal));
        var after = h.Engine.GlobalParameters();
        foreach (var t in after)
        {
            bool expert = TensorGroups.KeyOf(t.Name) != TensorGroups.Trunk;
            bool same = t.Values.AsSpan().SequenceEqual(before[t.Name].Values);
            Assert.True(expert == same, $"{t.Name}: {(expert ? "an expert with 2 of 3 holders changed" : "the trunk did not change")}");
        }
    }
}
