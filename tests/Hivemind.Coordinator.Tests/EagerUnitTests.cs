using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Volunteer.Work;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// Eager units (issue 16, one-step-delayed outer update) on the engine: leased ahead only on request, trained from the volunteer's own
/// accepted update, refused until their round opens, aggregated one version late, stale beyond the window, and spot-checkable.
/// </summary>
public sealed class EagerUnitTests
{
    /// <summary>A tiny unit recomputes in about a second; this bounds a wait on a loaded 2-core machine.</summary>
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Eager slots on; every key counts as established (no probation), as eager units are only for keys past it.</summary>
    private static CoordinatorOptions Eager(CoordinatorOptions o, int spare = 0) =>
        o with { Quorum = 2, SpareLeases = spare, MaxStaleness = 1, EagerSlots = 2, ProbationReputation = 0 };

    /// <summary>Trains an eager unit as the volunteer does: from the version minus its own accepted update.</summary>
    private static TrainedUpdate TrainEager(EngineHarness h, EngineHarness.Volunteer v, WorkUnit unit, TrainedUpdate own)
    {
        var start = EagerBase.Apply(h.Engine.ShardParameters(v.Session, unit.Version, unit.Id), TensorCodec.Decode(own.Payload, own.Payload.LongLength).Tensors);
        return WorkUnitRunner.Run(EngineHarness.ToSpec(unit) with { BaseUnitId = unit.BaseUnitId }, start, v.Identity);
    }

    [Fact]
    public void AnEagerUnitStartsFromTheOwnUpdateWaitsForItsRoundAndIsAggregatedOneVersionLate()
    {
        using var h = new EngineHarness(o => Eager(o));
        var a = h.Join();
        var b = h.Join();
        var bFirst = b.Lease(); // both active: one unit per key and round
        var first = a.Lease();
        var own = a.Train(first);
        a.Submit(own);
        Assert.Null(h.Engine.RequestWork(a.Session).Unit); // not asked eagerly: the synchronous answer (one unit per key and round)

        var eager = h.Engine.RequestWork(a.Session, eager: true).Unit!;
        Assert.Equal(1, eager.Round);
        Assert.Equal(0, eager.Version);
        Assert.Equal(first.Id, eager.BaseUnitId);
        Assert.Equal(first.Shard.Experts, eager.Shard.Experts);
        Assert.Equal(eager.Id, h.Engine.RequestWork(a.Session, eager: true).Unit!.Id); // asking again returns the same lease
        var update = TrainEager(h, a, eager, own);

        // Done before round 0 closed: told to come back, and nothing is recorded.
        var early = Assert.Throws<ProtocolException>(() => a.Submit(update));
        Assert.Equal(RejectReason.Unavailable, early.Reason);
        Assert.NotNull(early.RetryAfter);
        Assert.Single(h.Engine.Store.Updates(0));
        Assert.Empty(h.Engine.Store.Updates(1));

        b.Submit(b.Train(bFirst));
        Assert.Equal(0, h.Engine.Tick()!.Round);
        a.Submit(update);
        var row = Assert.Single(h.Engine.Store.Updates(1));
        Assert.Equal(eager.Id, row.WorkUnitId);
        Assert.Equal(0, row.Version); // trained from version 0, aggregated into round 1
        Assert.Equal(eager.Id, h.Engine.Store.GetWorkUnit(eager.Id) is { } w ? w.Id : null);
        Assert.Equal(first.Id, h.Engine.Store.GetWorkUnit(eager.Id)!.BaseUnitId); // durable: a restart knows the base

        b.Work();
        Assert.Equal(2, h.Engine.Tick()!.Updates);
    }

    [Fact]
    public void EagerSlotsCapTheUnitsLeasedAheadAndOnlyKeysWithAnAcceptedUpdateGetOne()
    {
        using var h = new EngineHarness(o => Eager(o) with { Quorum = 3, EagerSlots = 1 }); // one unit per key and round
        var a = h.Join();
        var b = h.Join();
        var c = h.Join();
        var cUnit = c.Lease(); // c holds a unit of round 0 but has no accepted update
        a.Work();
        b.Work();
        Assert.NotNull(h.Engine.RequestWork(a.Session, eager: true).Unit);
        Assert.Null(h.Engine.RequestWork(b.Session, eager: true).Unit); // the one eager slot is taken
        var again = h.Engine.RequestWork(c.Session, eager: true).Unit!; // nothing of its own to start from: its live unit again
        Assert.Equal(cUnit.Id, again.Id);
        Assert.Null(again.BaseUnitId);
    }

    [Fact]
    public void AKeyOnProbationGetsNoEagerUnit()
    {
        // Fresh keys start at reputation 0, below the default --probation-reputation 1: one accepted update does not make them
        // established, so asking eagerly must not hand them a place in the next round outside its draw.
        using var h = new EngineHarness(o => Eager(o) with { ProbationReputation = new CoordinatorOptions().ProbationReputation, ProbationSlots = 2 });
        var a = h.Join();
        var b = h.Join();
        a.Work();
        b.Lease();
        Assert.Null(h.Engine.RequestWork(a.Session, eager: true).Unit);
        Assert.Empty(h.Engine.Store.WorkUnits(1));
    }

    [Fact]
    public void AnEagerUpdateOlderThanTheStalenessWindowIsRejected()
    {
        using var h = new EngineHarness(o => Eager(o, spare: 1));
        var a = h.Join();
        var b = h.Join();
        var c = h.Join();
        var own = a.Train(a.Lease());
        a.Submit(own);
        var eager = h.Engine.RequestWork(a.Session, eager: true).Unit!;
        var update = TrainEager(h, a, eager, own);
        b.Work();
        Assert.NotNull(h.Engine.Tick()); // round 0 closes; the eager unit belongs to round 1
        b.Work();
        c.Work();
        Assert.NotNull(h.Engine.Tick()); // round 1 closes without it: version 0 is now 2 behind, the window is 1

        var e = Assert.Throws<ProtocolException>(() => a.Submit(update));
        Assert.Equal(RejectReason.StaleRound, e.Reason);
        Assert.Contains("--max-staleness 1", e.Message);
        Assert.Empty(h.Engine.Store.Updates(2));
    }

    [Fact]
    public async Task AnHonestEagerUnitPassesItsSpotCheckAndOneTrainedFromTheBareVersionFails()
    {
        using var h = new EngineHarness(o => Eager(o, spare: 1) with { Quorum = 3, SpotCheckProbability = 1, SpotCheckProbationProbability = 1, SpotCheckProbationPasses = 0 });
        var waiter = new SpotCheckWaiter(h.Engine);
        var honest = h.Join();
        var lazy = h.Join();
        var third = h.Join();
        var honestOwn = honest.Train(honest.Lease());
        honest.Submit(honestOwn);
        var lazyOwn = lazy.Train(lazy.Lease());
        lazy.Submit(lazyOwn);
        var honestEager = h.Engine.RequestWork(honest.Session, eager: true).Unit!;
        var lazyEager = h.Engine.RequestWork(lazy.Session, eager: true).Unit!;
        var honestUpdate = TrainEager(h, honest, honestEager, honestOwn);
        // A volunteer that skips the eager start (trains from the version itself) sends an update the coordinator did not ask for.
        var lazyUpdate = lazy.Train(lazyEager);
        third.Work();
        Assert.NotNull(h.Engine.Tick());
        await waiter.WaitForCountAsync(3, CheckTimeout);

        honest.Submit(honestUpdate);
        lazy.Submit(lazyUpdate);
        await waiter.WaitForCountAsync(5, CheckTimeout);
        Assert.Equal(SpotCheckVerdict.Passed, Assert.Single(waiter.Outcomes, o => o.WorkUnitId == honestEager.Id).Verdict);
        Assert.Equal(SpotCheckVerdict.Failed, Assert.Single(waiter.Outcomes, o => o.WorkUnitId == lazyEager.Id).Verdict);
    }

    [Fact]
    public void EagerSlotsNeedAStalenessWindow()
    {
        var e = Assert.Throws<ArgumentException>(() => (EngineHarness.TinyOptions("unused") with { EagerSlots = 1, MaxStaleness = 0 }).Validate());
        Assert.Contains("eager-slots 1 needs --max-staleness 1", e.Message);
        var many = Assert.Throws<ArgumentException>(() => (EngineHarness.TinyOptions("unused") with { EagerSlots = 9, MaxStaleness = 1 }).Validate());
        Assert.Contains("eager-slots 9", many.Message);
    }
}
