using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// Blind spot checks on the engine (fake clock, real trainer): who may be a checker, the coordinator taking over a check nobody
/// returns or nobody takes, and check units never aggregated, also after a restart.
/// </summary>
public sealed class BlindCheckTests : IDisposable
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Bound on a wait for the lease writer (a loaded machine is slow, never this slow).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private EngineHarness? _h;

    public void Dispose() => _h?.Dispose();

    private EngineHarness Harness(Func<CoordinatorOptions, CoordinatorOptions>? more = null) =>
        _h = new EngineHarness(o => (more ?? (x => x))(o with
        {
            Quorum = 8,
            SpotCheckMode = SpotCheckModes.Volunteer,
            SpotCheckProbability = 1,
            SpotCheckProbationProbability = 1,
            ProbationReputation = 0,
            SpotCheckProbationPasses = 0,
        }));

    [Fact]
    public void TheCheckGoesNeitherToTheCheckedKeyNorToAKeyFromItsAddress()
    {
        var h = Harness();
        var a = h.Join(source: "203.0.113.7");
        var sameAddress = h.Join(source: "203.0.113.7");
        var elsewhere = h.Join(source: "198.51.100.9");
        a.Work();
        Assert.Equal(1, h.Engine.BlindChecksOutstanding);
        Assert.False(h.Engine.IsCheckUnit(a.Lease().Id), "the checked key was leased its own check");
        Assert.False(h.Engine.IsCheckUnit(sameAddress.Lease().Id), "a key from the checked key's address was leased the check");
        Assert.True(h.Engine.IsCheckUnit(elsewhere.Lease().Id), "a reputable key from another address should get the check");
    }

    [Fact]
    public void AKeyOnProbationIsNeverAChecker()
    {
        // One passed check ends probation here; a new key has none.
        var h = Harness(o => o with { SpotCheckProbationPasses = 1, SpotCheckDistinctSource = false });
        var a = h.Join();
        var fresh = h.Join();
        a.Work();
        Assert.False(h.Engine.IsCheckUnit(fresh.Lease().Id), "a key on probation was leased a check");
        Assert.Equal(1, h.Engine.BlindChecksOutstanding);
    }

    [Fact]
    public async Task ACheckerThatNeverReturnsLetsTheCoordinatorCheckAfterItsLeaseExpires()
    {
        var h = Harness(o => o with { SpotCheckDistinctSource = false });
        var waiter = new SpotCheckWaiter(h.Engine);
        var a = h.Join();
        var silent = h.Join();
        a.Work();
        var check = silent.Lease();
        Assert.True(h.Engine.IsCheckUnit(check.Id));
        h.Time.Advance(h.Options.LeaseDuration + TimeSpan.FromSeconds(1));
        h.Engine.Tick(); // expires the lease
        await waiter.WaitForCountAsync(1, CheckTimeout);
        var outcome = Assert.Single(waiter.Outcomes);
        Assert.Equal(SpotCheckVerdict.Passed, outcome.Verdict);
        Assert.Equal("coordinator", outcome.Checker);
        Assert.Contains("ended without a result", outcome.Detail, StringComparison.Ordinal);
        Assert.Equal(0, h.Engine.BlindChecksOutstanding);
        // The silent checker's late update is refused like any expired unit's.
        var e = Assert.Throws<ProtocolException>(() => silent.Submit(silent.Train(check)));
        Assert.Equal(RejectReason.ExpiredLease, e.Reason);
    }

    [Fact]
    public async Task ACheckNobodyTakesBeforeItsRoundClosesIsRecomputedByTheCoordinator()
    {
        var h = Harness(o => o with { Quorum = 1 });
        var waiter = new SpotCheckWaiter(h.Engine);
        var a = h.Join();
        a.Work();
        Assert.Equal(1, h.Engine.BlindChecksOutstanding);
        Assert.NotNull(h.Engine.Tick()); // quorum 1: the round closes with the check still waiting
        await waiter.WaitForCountAsync(1, CheckTimeout);
        var outcome = Assert.Single(waiter.Outcomes);
        Assert.Equal(SpotCheckVerdict.Passed, outcome.Verdict);
        Assert.Contains("no eligible volunteer took the blind check", outcome.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACheckUnitIsNeverAggregatedAlsoAfterARestart()
    {
        var h = Harness(o => o with { SpotCheckDistinctSource = false });
        var waiter = new SpotCheckWaiter(h.Engine);
        var a = h.Join();
        var checker = h.Join();
        a.Work();
        var check = checker.Lease();
        Assert.True(h.Engine.IsCheckUnit(check.Id));
        checker.Submit(checker.Train(check));
        await waiter.WaitForCountAsync(1, CheckTimeout);
        Assert.Equal(checker.Id, Assert.Single(waiter.Outcomes).Checker);
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound);
        Assert.Equal(2, h.Engine.Store.Updates(h.Engine.Round).Count); // both are in the ledger, acknowledged alike
        h.Restart();
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound);
        Assert.True(h.Engine.IsCheckUnit(check.Id));
    }

    [Fact]
    public void ACheckOutWhenTheCoordinatorStopsIsRecordedAsSkipped()
    {
        var h = Harness(o => o with { SpotCheckDistinctSource = false });
        var a = h.Join();
        var checker = h.Join();
        a.Work();
        var check = checker.Lease();
        h.Restart();
        var skipped = Assert.Single(h.Engine.Store.SpotChecks());
        Assert.Equal(SpotCheckVerdict.Skipped, skipped.Verdict);
        Assert.Contains(check.Id, skipped.Detail, StringComparison.Ordinal);
        // Its late result is acknowledged but not aggregated.
        checker.Submit(checker.Train(check));
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound);
    }

    [Fact]
    public async Task ACheckUnitsLeaseAndItsBlindCheckRowCommitTogetherInTheLeaseWriterBeforeTheReply()
    {
        var h = Harness(o => o with { SpotCheckDistinctSource = false });
        var a = h.Join();
        var checker = h.Join();
        a.Work();
        Assert.Equal(1, h.Engine.BlindChecksOutstanding);
        long unitsBefore = h.CommittedRows("work_units");
        long ledgerBefore = h.CommittedRows("ledger");
        long leasesBefore = h.Engine.LeaseCommits.Leases;
        var inCommit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Engine.LeaseBatchCommitting += n =>
        {
            if (inCommit.TrySetResult(n)) Assert.True(release.Task.Wait(Patience));
        };

        var pending = Task.Run(() => h.Engine.RequestWorkAsync(checker.Session));
        // The check unit's lease is in the group-commit writer (it was written synchronously under the engine's lock before).
        Assert.Equal(1, await inCommit.Task.WaitAsync(Patience));
        Assert.False(pending.IsCompleted);
        Assert.Equal(unitsBefore, h.CommittedRows("work_units"));
        Assert.Equal(0, h.CommittedRows("blind_checks"));
        Assert.Equal(ledgerBefore, h.CommittedRows("ledger"));
        release.SetResult();
        var unit = (await pending.WaitAsync(Patience)).Unit;
        Assert.NotNull(unit);
        Assert.True(h.Engine.IsCheckUnit(unit.Id));
        // Replied: an independent reader of the store file sees the lease, its ledger entry and its blind_checks row.
        Assert.Equal(unitsBefore + 1, h.CommittedRows("work_units"));
        Assert.Equal(ledgerBefore + 1, h.CommittedRows("ledger"));
        Assert.Equal(1, h.CommittedRows("blind_checks"));
        Assert.Equal(leasesBefore + 1, h.Engine.LeaseCommits.Leases);

        // A crash after the reply: the check unit is still one (never aggregated), and the check out at the crash is recorded.
        h.Restart();
        Assert.True(h.Engine.IsCheckUnit(unit.Id));
        var row = Assert.Single(h.Engine.Store.BlindChecks());
        Assert.Equal((unit.Id, checker.Id), (row.CheckUnitId, row.CheckerId));
        Assert.Equal(SpotCheckVerdict.Skipped, Assert.Single(h.Engine.Store.SpotChecks()).Verdict);
    }

    [Fact]
    public async Task AFailedCheckLeaseCommitWritesNeitherRowAndTheCheckWaitsForTheNextAsk()
    {
        var h = Harness(o => o with { SpotCheckDistinctSource = false });
        var a = h.Join();
        var checker = h.Join();
        a.Work();
        long unitsBefore = h.CommittedRows("work_units");
        bool fail = true;
        h.Engine.LeaseBatchCommitting += _ =>
        {
            if (Volatile.Read(ref fail)) throw new IOException("disk full");
        };

        var refused = await Assert.ThrowsAsync<ProtocolException>(() => h.Engine.RequestWorkAsync(checker.Session).WaitAsync(Patience));
        Assert.Equal(RejectReason.CoordinatorStorage, refused.Reason);
        Assert.Equal(unitsBefore, h.CommittedRows("work_units"));
        Assert.Equal(0, h.CommittedRows("blind_checks"));
        Assert.Equal(1, h.Engine.BlindChecksOutstanding);

        // The disk recovers: the next ask gets the check again, under a new id, with both rows.
        Volatile.Write(ref fail, false);
        var unit = checker.Lease();
        Assert.True(h.Engine.IsCheckUnit(unit.Id));
        Assert.Equal(unit.Id, Assert.Single(h.Engine.Store.BlindChecks()).CheckUnitId);
        Assert.Equal(1, h.CommittedRows("blind_checks"));
    }

    [Fact]
    public async Task NoCheckIsOfferedOnceTheRoundReachedItsQuorum()
    {
        // Quorum 1 and a spare lease: after the first update the round has its quorum, and every ordinary ask is told to wait.
        var h = Harness(o => o with { Quorum = 1, SpotCheckDistinctSource = false });
        var waiter = new SpotCheckWaiter(h.Engine);
        var a = h.Join();
        var checker = h.Join();
        a.Work();
        Assert.Equal(1, h.Engine.BlindChecksOutstanding);
        // A unit handed out now would be wasted (the round closes at the next tick) and would tell its holder it is a check.
        var decision = h.Engine.RequestWork(checker.Session);
        Assert.True(decision.Unit is null, $"a check unit was leased after the quorum: {decision.Unit?.Id}");
        Assert.Contains("reached its quorum", decision.Reason, StringComparison.Ordinal);
        Assert.Empty(h.Engine.Store.BlindChecks());
        // It goes to the coordinator when the round closes.
        Assert.NotNull(h.Engine.Tick());
        await waiter.WaitForCountAsync(1, CheckTimeout);
        Assert.Contains("no eligible volunteer took the blind check", Assert.Single(waiter.Outcomes).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownSpotCheckModeIsRefusedWithTheFlag()
    {
        var e = Assert.Throws<ArgumentException>(() => new CoordinatorOptions { SpotCheckMode = "peer" }.Validate());
        Assert.Contains("spot-check-mode 'peer'", e.Message, StringComparison.Ordinal);
        Assert.Equal(SpotCheckModes.Coordinator, new CoordinatorOptions().SpotCheckMode);
    }
}
