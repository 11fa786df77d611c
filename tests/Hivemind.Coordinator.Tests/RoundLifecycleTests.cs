using Hivemind.Coordinator.Tests.Infrastructure;

namespace Hivemind.Coordinator.Tests;

/// <summary>The round engine on a fake clock: quorum, deadlines, lease expiry and reissue, restart from disk.</summary>
public sealed class RoundLifecycleTests
{
    [Fact]
    public void QuorumClosesTheRoundAndPublishesACheckpoint()
    {
        using var h = new EngineHarness();
        var volunteers = Enumerable.Range(0, 4).Select(_ => h.Join()).ToList();
        foreach (var v in volunteers) v.Work();
        var summary = h.Engine.Tick();
        Assert.NotNull(summary);
        Assert.Equal(0, summary!.Round);
        Assert.Equal(4, summary.Updates);
        Assert.Equal(1, h.Engine.Round);
        Assert.True(File.Exists(Path.Combine(h.Options.DataDirectory, "checkpoints", "v000001.safetensors")));
        var rounds = h.Engine.Store.Rounds();
        Assert.Equal(2, rounds.Count);
        Assert.NotNull(rounds[0].ClosedAtMs);
        Assert.Null(rounds[1].ClosedAtMs);
        // Round 0's payloads are in checkpoint 1 and no open round can use them: pruned; the ledger keeps the envelopes.
        Assert.False(Directory.Exists(Path.Combine(h.Options.DataDirectory, "updates", "r0")));
        Assert.Equal(4, h.Engine.Store.LedgerCount());
    }

    [Fact]
    public void ExpiredLeaseIsReissuedAndTheRoundCompletes()
    {
        using var h = new EngineHarness();
        var volunteers = Enumerable.Range(0, 4).Select(_ => h.Join()).ToList();
        var vanished = volunteers[0].Lease();
        foreach (var v in volunteers.Skip(1)) v.Work();
        Assert.Null(h.Engine.RequestWork(volunteers[1].Session).Unit); // all four units are out: nothing to reissue yet

        h.Time.Advance(h.Options.LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Null(h.Engine.Tick());
        Assert.Equal("expired", h.Engine.Store.GetWorkUnit(vanished.Id)!.State);

        var reissued = volunteers[1].Lease();
        Assert.NotEqual(vanished.Id, reissued.Id);
        Assert.Equal(vanished.Round, reissued.Round);
        volunteers[1].Submit(volunteers[1].Train(reissued));
        var summary = h.Engine.Tick();
        Assert.Equal(4, summary!.Updates);
    }

    [Fact]
    public void DeadlineClosesWithTheUpdatesItHasOrExtendsWhenTooFew()
    {
        using var h = new EngineHarness(o => o with { MinUpdates = 2 });
        var a = h.Join();
        var b = h.Join();
        a.Work();
        h.Time.Advance(h.Options.RoundTimeout + TimeSpan.FromSeconds(1));
        Assert.Null(h.Engine.Tick()); // 1 < MinUpdates: extended
        Assert.Equal(0, h.Engine.Round);
        b.Work();
        Assert.Null(h.Engine.Tick()); // 2 updates but quorum 4 and the new deadline has not passed
        h.Time.Advance(h.Options.RoundTimeout + TimeSpan.FromSeconds(1));
        var summary = h.Engine.Tick();
        Assert.Equal(2, summary!.Updates);
        Assert.Equal(1, h.Engine.Round);
    }

    [Fact]
    public void RestartKeepsEveryAcknowledgedUpdateAndTrainingResumes()
    {
        using var h = new EngineHarness();
        var volunteers = Enumerable.Range(0, 4).Select(_ => h.Join()).ToList();
        var acknowledged = volunteers.Take(2).Select(v => v.Work()).ToList();
        var pending = volunteers[2].Lease();

        h.Restart();

        var rows = h.Engine.Store.Updates(0);
        Assert.Equal(acknowledged, rows.Select(r => r.Sequence).ToList());
        Assert.All(rows, r => Assert.True(File.Exists(h.Engine.PayloadFile(r))));
        Assert.Equal(2, h.Engine.Status().AcceptedThisRound);
        volunteers[2].Submit(volunteers[2].Train(pending)); // a lease granted before the restart is still honoured
        volunteers[3].Work();
        var summary = h.Engine.Tick();
        Assert.Equal(4, summary!.Updates);
        Assert.Equal(1, h.Engine.Round);
    }

    [Fact]
    public void OneVolunteerCannotFillSeveralSlotsWhileOthersAreActive()
    {
        using var h = new EngineHarness(o => o with { Quorum = 3 });
        var fast = h.Join();
        var others = new[] { h.Join(), h.Join() };
        foreach (var o in others) Assert.NotNull(h.Engine.RequestWork(o.Session).Unit); // three active volunteers
        fast.Work();
        var second = h.Engine.RequestWork(fast.Session);
        Assert.Null(second.Unit);
        Assert.Contains("already trained 1 unit", second.Reason);

        // Once the others have gone quiet for longer than the active window, the fast one may fill the round.
        h.Time.Advance(Rounds.CoordinatorEngine.ActiveWindow + TimeSpan.FromSeconds(1));
        foreach (var o in others) h.Engine.Leave(o.Session);
        Assert.NotNull(h.Engine.RequestWork(fast.Session).Unit);
    }

    [Fact]
    public void LateJoinerTrainsFromTheCurrentVersion()
    {
        using var h = new EngineHarness(o => o with { Quorum = 2 });
        var early = Enumerable.Range(0, 2).Select(_ => h.Join()).ToList();
        for (int round = 0; round < 2; round++)
        {
            foreach (var v in early) v.Work();
            Assert.NotNull(h.Engine.Tick());
        }
        var late = h.Join();
        var unit = late.Lease();
        Assert.Equal(2, unit.Round);
        Assert.Equal(2, unit.Version);
        late.Submit(late.Train(unit));
        early[0].Work();
        Assert.Equal(2, h.Engine.Tick()!.Updates);
    }
}

/// <summary>Bounded staleness: late updates within the window join the current round; older ones are stale.</summary>
public sealed class StalenessTests
{
    [Fact]
    public void AnUpdateOneRoundLateIsAggregatedIntoTheCurrentRoundWhenTheWindowAllowsIt()
    {
        using var h = new EngineHarness(o => o with { Quorum = 2, SpareLeases = 1, MaxStaleness = 1 });
        var a = h.Join();
        var b = h.Join();
        var late = h.Join();
        var lateUnit = late.Lease(); // round 0, trained from version 0
        var lateUpdate = late.Train(lateUnit);
        a.Work();
        b.Work();
        Assert.Equal(0, h.Engine.Tick()!.Round);

        late.Submit(lateUpdate); // arrives during round 1
        var row = Assert.Single(h.Engine.Store.Updates(1));
        Assert.Equal(lateUnit.Id, row.WorkUnitId);
        Assert.Equal(0, row.Version);
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound);

        h.Restart(); // the stale update is part of round 1 after a restart too
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound);
        a.Work();
        var summary = h.Engine.Tick();
        Assert.Equal(2, summary!.Updates);
    }

    [Fact]
    public void AnUpdateOlderThanTheWindowIsStale()
    {
        using var h = new EngineHarness(o => o with { Quorum = 2, SpareLeases = 1, MaxStaleness = 1 });
        var a = h.Join();
        var b = h.Join();
        var late = h.Join();
        var lateUpdate = late.Train(late.Lease());
        for (int round = 0; round < 2; round++)
        {
            a.Work();
            b.Work();
            Assert.NotNull(h.Engine.Tick());
        }
        var e = Assert.Throws<Protocol.Errors.ProtocolException>(() => late.Submit(lateUpdate));
        Assert.Equal(Protocol.Errors.RejectReason.StaleRound, e.Reason);
        Assert.Contains("--max-staleness 1", e.Message);
    }
}

/// <summary>Shard planning: memory decides the shard's size, coverage decides which experts, replication is reported.</summary>
public sealed class ShardPlanningTests
{
    [Fact]
    public void SmallShardsSpreadOverTheExpertsAndShortfallsAreCounted()
    {
        var model = Training.ModelConfig.Preset("tiny");
        var planner = new Planning.ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert);
        long twoExperts = planner.MemoryNeeded(2);
        using var h = new EngineHarness(o => o with { Quorum = 2, Replication = 2 });
        var a = h.Join(twoExperts);
        var b = h.Join(twoExperts);
        var ua = a.Lease();
        var ub = b.Lease();
        Assert.Equal(2 * model.Layers, ua.Shard.Experts.Count); // memory for 2 experts per layer: 2 experts per layer
        Assert.Empty(ua.Shard.Experts.Intersect(ub.Shard.Experts)); // the second shard takes the uncovered experts
        a.Submit(a.Train(ua));
        b.Submit(b.Train(ub));
        var summary = h.Engine.Tick()!;
        Assert.Equal(model.Layers * model.Experts, summary.UnderReplicatedGroups); // each of the 8 expert groups had 1 holder < 2
    }
}
