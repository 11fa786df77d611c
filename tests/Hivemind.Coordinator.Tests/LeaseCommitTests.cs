using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// Issue 9's lease latency: a lease is group-committed off the engine's lock and acknowledged only once its batch is durable; a failed
/// commit withdraws it; a round close decides outside the lock, so leases and heartbeats are answered while it runs.
/// </summary>
public sealed class LeaseCommitTests
{
    /// <summary>Bound on any wait in these tests (a loaded machine is slow, never this slow).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_lease_is_acknowledged_only_once_durable_and_survives_a_restart()
    {
        using var h = new EngineHarness();
        var volunteer = h.Join();
        var inCommit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Engine.LeaseBatchCommitting += n =>
        {
            if (inCommit.TrySetResult(n)) Assert.True(release.Task.Wait(Patience));
        };
        long ledgerBefore = h.CommittedRows("ledger");

        var pending = Task.Run(() => h.Engine.RequestWorkAsync(volunteer.Session));
        Assert.Equal(1, await inCommit.Task.WaitAsync(Patience));
        // Held inside the commit: no acknowledgement, nothing of the lease in the store; asking again gets no earlier answer either.
        var again = Task.Run(() => h.Engine.RequestWorkAsync(volunteer.Session));
        Assert.False(pending.IsCompleted);
        Assert.Equal(0, h.CommittedRows("work_units"));
        Assert.Equal(ledgerBefore, h.CommittedRows("ledger"));
        Assert.False(again.IsCompleted);
        release.SetResult();
        var unit = (await pending.WaitAsync(Patience)).Unit;
        Assert.NotNull(unit);
        Assert.Equal(unit.Id, (await again.WaitAsync(Patience)).Unit?.Id);

        // Acknowledged: an independent reader of the store file sees the work unit and the lease's ledger entry.
        Assert.Equal(1, h.CommittedRows("work_units"));
        Assert.Equal(ledgerBefore + 1, h.CommittedRows("ledger"));
        h.Restart();
        Assert.Equal(unit.Shard, h.Engine.LeasedShard(volunteer.Session, unit.Version, unit.Id));
    }

    [Fact]
    public async Task Leases_issued_during_a_commit_share_the_next_transaction()
    {
        using var h = new EngineHarness(o => o with { Quorum = 6, JoinsPerMinute = 100 });
        var crowd = Enumerable.Range(0, 6).Select(_ => h.Join()).ToList();
        var sizes = new List<int>();
        var inCommit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Engine.LeaseBatchCommitting += n =>
        {
            lock (sizes) sizes.Add(n);
            if (inCommit.TrySetResult()) Assert.True(release.Task.Wait(Patience));
        };

        var first = Task.Run(() => h.Engine.RequestWorkAsync(crowd[0].Session));
        await inCommit.Task.WaitAsync(Patience);
        // These five are decided under the lock and queued while the first commit is held open (the tasks wait for their batch).
        var rest = crowd.Skip(1).Select(v => h.Engine.RequestWorkAsync(v.Session)).ToList();
        Assert.Equal(6, h.Engine.PendingLeases);
        Assert.All(rest, t => Assert.False(t.IsCompleted));
        release.SetResult();
        var decisions = await Task.WhenAll(rest.Prepend(first)).WaitAsync(Patience);

        Assert.All(decisions, d => Assert.NotNull(d.Unit));
        Assert.Equal(6, decisions.Select(d => d.Unit!.Id).Distinct().Count());
        Assert.Equal([1, 5], sizes);
        Assert.Equal((2L, 6L), h.Engine.LeaseCommits);
        Assert.Equal(6, h.CommittedRows("work_units"));
    }

    [Fact]
    public async Task A_failed_lease_commit_answers_coordinator_storage_and_withdraws_the_lease()
    {
        using var h = new EngineHarness();
        var volunteer = h.Join();
        bool fail = true;
        h.Engine.LeaseBatchCommitting += _ =>
        {
            if (Volatile.Read(ref fail)) throw new IOException("disk full");
        };

        var refused = await Assert.ThrowsAsync<ProtocolException>(() => h.Engine.RequestWorkAsync(volunteer.Session).WaitAsync(Patience));
        Assert.Equal(RejectReason.CoordinatorStorage, refused.Reason);
        Assert.Equal(0, h.CommittedRows("work_units"));
        Assert.Equal(0, h.Engine.Status().LeasedUnits);

        // The disk recovers: the next ask gets a new, durable lease (not the withdrawn one).
        Volatile.Write(ref fail, false);
        var unit = (await h.Engine.RequestWorkAsync(volunteer.Session).WaitAsync(Patience)).Unit;
        Assert.NotNull(unit);
        Assert.Equal(1, h.CommittedRows("work_units"));
        Assert.Equal(1, h.Engine.Status().LeasedUnits);
    }

    [Fact]
    public async Task Leases_and_heartbeats_are_answered_while_a_round_decides_and_an_update_completing_then_waits_for_the_close()
    {
        // Two units in round 0 (quorum 1 + 1 spare); an update of round 0 may still count in round 1.
        using var h = new EngineHarness(o => o with { Quorum = 1, SpareLeases = 1, MaxStaleness = 1, JoinsPerMinute = 100 });
        var first = h.Join();
        var second = h.Join();
        var third = h.Join();
        var firstUnit = first.Lease();
        var thirdUnit = third.Lease();
        first.Submit(first.Train(firstUnit));
        var late = third.Train(thirdUnit); // round 0's second update, sent while round 0 closes
        var deciding = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Engine.RoundDeciding += round =>
        {
            if (deciding.TrySetResult(round)) Assert.True(release.Task.Wait(Patience));
        };

        var close = Task.Run(h.Engine.Tick);
        Assert.Equal(0, await deciding.Task.WaitAsync(Patience));
        // The close is between its snapshot and its commit: the lock is free, so these are answered now (they waited for the whole
        // close when it held the lock).
        var wait = await Task.Run(() => h.Engine.RequestWorkAsync(second.Session)).WaitAsync(Patience);
        Assert.Null(wait.Unit);
        Assert.Contains("is closing", wait.Reason, StringComparison.Ordinal);
        var (valid, _) = await Task.Run(() => h.Engine.Heartbeat(third.Session, late.Envelope.Envelope.WorkUnitId)).WaitAsync(Patience);
        Assert.True(valid);
        // An update completing now must not slip into the round being aggregated: it waits for the commit and counts in the next round.
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Engine.WaitingForRoundClose += () => waiting.TrySetResult();
        var submit = Task.Run(() => third.Submit(late));
        await waiting.Task.WaitAsync(Patience);
        Assert.False(submit.IsCompleted);
        Assert.Equal(0, h.Engine.Round);

        release.SetResult();
        var summary = await close.WaitAsync(Patience);
        Assert.NotNull(summary);
        Assert.Equal(1, summary.Updates);
        Assert.True(await submit.WaitAsync(Patience) > 0);
        Assert.Equal(1, h.Engine.Round);
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound); // counted in round 1, not lost with round 0's cleared list
    }
}
