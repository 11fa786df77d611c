using Grpc.Core;
using Hivemind.Coordinator.Admission;
using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The coordinator under a crowd (issue 9's 1,000-volunteer load): joins are group-committed (acknowledged only once durable), a full
/// commit queue answers `unavailable` with retry advice and changes nothing, and a volunteer told to wait keeps its session.
/// </summary>
public sealed class CrowdAdmissionTests
{
    /// <summary>Bound on any wait in these tests (a loaded machine is slow, never this slow).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Items_queued_during_a_commit_go_into_the_next_batch_and_are_acknowledged_only_after_it()
    {
        var batches = new List<int[]>();
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var commits = new GroupCommit<int>(items =>
        {
            lock (batches) batches.Add([.. items]);
            if (items[0] == 0)
            {
                firstStarted.SetResult();
                Assert.True(releaseFirst.Task.Wait(Patience));
            }
        }, capacity: 16, maxBatch: 16, name: "test-commit");

        Assert.True(commits.TryReserve());
        var first = commits.Enqueue(0);
        await firstStarted.Task.WaitAsync(Patience);
        var rest = Enumerable.Range(1, 5).Select(i =>
        {
            Assert.True(commits.TryReserve());
            return commits.Enqueue(i);
        }).ToList();

        // The writer is inside the first commit: nothing is acknowledged yet.
        Assert.False(first.IsCompleted);
        Assert.All(rest, t => Assert.False(t.IsCompleted));
        releaseFirst.SetResult();
        await Task.WhenAll(rest.Append(first)).WaitAsync(Patience);

        Assert.Equal([[0], [1, 2, 3, 4, 5]], batches);
        Assert.Equal(2, commits.Batches);
        Assert.Equal(6, commits.Committed);
        Assert.Equal(0, commits.Pending);
    }

    [Fact]
    public async Task A_failed_commit_fails_every_item_of_its_batch_and_the_next_batch_still_commits()
    {
        int calls = 0;
        using var commits = new GroupCommit<int>(_ =>
        {
            if (Interlocked.Increment(ref calls) == 1) throw new IOException("disk full");
        }, capacity: 4, maxBatch: 4, name: "test-commit");

        Assert.True(commits.TryReserve());
        var failed = await Assert.ThrowsAsync<IOException>(() => commits.Enqueue(1).WaitAsync(Patience));
        Assert.Equal("disk full", failed.Message);
        Assert.Equal(0, commits.Pending);
        Assert.True(commits.TryReserve());
        await commits.Enqueue(2).WaitAsync(Patience);
        Assert.Equal(1, commits.Committed);
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_with_advice_and_takes_places_again_once_drained()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var commits = new GroupCommit<int>(_ =>
        {
            started.TrySetResult();
            Assert.True(release.Task.Wait(Patience));
        }, capacity: 2, maxBatch: 1, name: "test-commit");

        Assert.True(commits.TryReserve());
        var a = commits.Enqueue(1);
        Assert.True(commits.TryReserve());
        var b = commits.Enqueue(2);
        await started.Task.WaitAsync(Patience);

        Assert.False(commits.TryReserve());
        Assert.Equal(2, commits.Pending);
        Assert.True(commits.RetryAdvice >= GroupCommit<int>.MinimumRetryAdvice);
        release.SetResult();
        await Task.WhenAll(a, b).WaitAsync(Patience);
        Assert.True(commits.TryReserve());
        commits.Release();
    }

    [Fact]
    public async Task A_join_is_acknowledged_only_once_durable_and_survives_a_restart()
    {
        using var h = new EngineHarness();
        var inCommit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Engine.JoinBatchCommitting += n =>
        {
            if (inCommit.TrySetResult(n)) Assert.True(release.Task.Wait(Patience));
        };
        using var identity = VolunteerIdentity.Create();
        var join = SignedJoin(h, identity);
        long ledgerBefore = h.CommittedRows("ledger");

        var pending = Task.Run(() => h.Engine.JoinAsync(ProtocolVersion.Current, identity.PublicKey, join.Nonce, join.Signature, Memory, "cpu", ""));
        Assert.Equal(1, await inCommit.Task.WaitAsync(Patience));
        // Held inside the commit: no acknowledgement, and nothing of it in the store yet.
        Assert.False(pending.IsCompleted);
        Assert.Equal(0, h.CommittedRows("volunteers"));
        release.SetResult();
        var (id, token) = await pending.WaitAsync(Patience);

        // Acknowledged: an independent reader of the store file sees the volunteer, its session hash and the join's ledger entry.
        Assert.Equal(1, h.CommittedRows("volunteers"));
        Assert.Equal(1, h.CommittedRows("session_hashes"));
        Assert.Equal(ledgerBefore + 1, h.CommittedRows("ledger"));
        h.Restart();
        Assert.Equal(id, h.Engine.Authenticate(token).Id);
    }

    [Fact]
    public async Task Joins_waiting_together_are_committed_in_one_transaction_and_each_gets_its_own_session()
    {
        using var h = new EngineHarness(o => o with { JoinsPerMinute = 100 });
        var inCommit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sizes = new List<int>();
        h.Engine.JoinBatchCommitting += n =>
        {
            lock (sizes) sizes.Add(n);
            if (inCommit.TrySetResult()) Assert.True(release.Task.Wait(Patience));
        };
        var identities = Enumerable.Range(0, 6).Select(_ => VolunteerIdentity.Create()).ToList();
        try
        {
            var joins = identities.Select(i => (Identity: i, Signed: SignedJoin(h, i))).ToList();
            var first = Task.Run(() => h.Engine.JoinAsync(ProtocolVersion.Current, joins[0].Identity.PublicKey, joins[0].Signed.Nonce, joins[0].Signed.Signature, Memory, "cpu", ""));
            await inCommit.Task.WaitAsync(Patience);
            // These five verify and queue while the first commit is held open (JoinAsync returns its task once queued).
            var rest = joins.Skip(1).Select(j => h.Engine.JoinAsync(ProtocolVersion.Current, j.Identity.PublicKey, j.Signed.Nonce, j.Signed.Signature, Memory, "cpu", "")).ToList();
            Assert.Equal(6, h.Engine.PendingJoins);
            release.SetResult();
            var results = await Task.WhenAll(rest.Prepend(first)).WaitAsync(Patience);

            Assert.Equal([1, 5], sizes);
            Assert.Equal((2L, 6L), h.Engine.JoinCommits);
            Assert.Equal(6, results.Select(r => r.SessionToken).Distinct().Count());
            h.Restart();
            foreach (var (id, token) in results) Assert.Equal(id, h.Engine.Authenticate(token).Id);
        }
        finally
        {
            foreach (var i in identities) i.Dispose();
        }
    }

    [Fact]
    public async Task A_full_join_queue_answers_unavailable_with_advice_and_charges_nothing()
    {
        // One join in flight at most, two joins a minute from this source: a refusal that charged the limit or used the nonce would
        // make the retry below fail.
        using var h = new EngineHarness(o => o with { MaxPendingJoins = 1, JoinsPerMinute = 2 });
        var inCommit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Engine.JoinBatchCommitting += _ =>
        {
            if (inCommit.TrySetResult()) Assert.True(release.Task.Wait(Patience));
        };
        using var first = VolunteerIdentity.Create();
        using var second = VolunteerIdentity.Create();
        var firstJoin = SignedJoin(h, first);
        var secondJoin = SignedJoin(h, second);
        var held = Task.Run(() => h.Engine.JoinAsync(ProtocolVersion.Current, first.PublicKey, firstJoin.Nonce, firstJoin.Signature, Memory, "cpu", ""));
        await inCommit.Task.WaitAsync(Patience);

        var refused = await Assert.ThrowsAsync<ProtocolException>(() =>
            h.Engine.JoinAsync(ProtocolVersion.Current, second.PublicKey, secondJoin.Nonce, secondJoin.Signature, Memory, "cpu", ""));
        Assert.Equal(RejectReason.Unavailable, refused.Reason);
        Assert.NotNull(refused.RetryAfter);
        Assert.True(refused.RetryAfter >= GroupCommit<int>.MinimumRetryAdvice);
        Assert.Contains("retry in", refused.Message, StringComparison.Ordinal);
        // On the wire: status Unavailable, the reason trailer and the advice trailer.
        var rpc = refused.ToRpcException();
        Assert.Equal(StatusCode.Unavailable, rpc.StatusCode);
        Assert.True(RejectReasons.TryGetReason(rpc, out var reason) && reason == RejectReason.Unavailable);
        Assert.Equal(TimeSpan.FromMilliseconds(Math.Ceiling(refused.RetryAfter!.Value.TotalMilliseconds)), RejectReasons.RetryAfter(rpc));

        release.SetResult();
        await held.WaitAsync(Patience);
        Assert.Equal(1, h.CommittedRows("volunteers"));
        // The same signed join, sent again as advised, is admitted.
        var (id, _) = await h.Engine.JoinAsync(ProtocolVersion.Current, second.PublicKey, secondJoin.Nonce, secondJoin.Signature, Memory, "cpu", "").WaitAsync(Patience);
        Assert.Equal(VolunteerIds.FromPublicKey(second.PublicKey), id);
    }

    [Fact]
    public void A_crowd_is_told_to_wait_longer_and_the_wait_it_was_told_never_expires_its_session()
    {
        // Sessions expire after 3 silent seconds; one work unit; the crowd is spread to one request a second.
        using var h = new EngineHarness(o => o with { HeartbeatInterval = TimeSpan.FromSeconds(1), Quorum = 1, WorkPollsPerSecond = 1, JoinsPerMinute = 100 });
        var crowd = Enumerable.Range(0, 5).Select(_ => h.Join()).ToList();
        Assert.NotNull(h.Engine.RequestWork(crowd[0].Session).Unit);
        var waits = crowd.Skip(1).Select(v => h.Engine.RequestWork(v.Session)).ToList();
        Assert.All(waits, w => Assert.Null(w.Unit));
        // The last of the five saw five active volunteers: about 5 s, with up to half again of jitter; longer than a session's 3 s of silence.
        var last = waits[^1].RetryAfter;
        Assert.InRange(last, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5 * (1 + Rounds.CoordinatorEngine.PollJitter)));
        Assert.True(last > TimeSpan.FromSeconds(3));

        h.Time.Advance(last);
        // Came back exactly when told: still the same session.
        Assert.Null(h.Engine.RequestWork(crowd[^1].Session).Unit);
        // A volunteer silent that long without being told to wait is gone.
        var quiet = h.Join();
        h.Time.Advance(TimeSpan.FromSeconds(3.5));
        var expired = Assert.Throws<ProtocolException>(() => h.Engine.RequestWork(quiet.Session));
        Assert.Equal(RejectReason.InvalidSession, expired.Reason);
    }

    [Fact]
    public void The_live_lease_check_of_a_silent_session_runs_without_the_session_lock()
    {
        // The check takes the engine's lock, and the engine touches sessions under that lock (an accepted update): holding the session
        // lock across the check deadlocked the coordinator under load. Here the check itself touches another session from another
        // thread, as the engine would; with the lock held that thread could never get in.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var book = new SessionBook(time, TimeSpan.FromSeconds(3));
        var (token, _) = book.Open("silent");
        book.Open("other");
        time.Advance(TimeSpan.FromSeconds(4));
        int checks = 0;
        bool CheckLease(string volunteer)
        {
            Interlocked.Increment(ref checks);
            Assert.True(Task.Run(() => book.Touch("other")).Wait(Patience), "another session could not be touched during the lease check");
            return volunteer == "silent";
        }

        Assert.Equal("silent", book.Peek(token, CheckLease));
        Assert.Equal("silent", book.Authenticate(token, CheckLease));
        Assert.Equal(2, checks);
    }

    [Fact]
    public async Task Submissions_beyond_the_busy_decode_workers_still_complete()
    {
        // More updates arrive together than there are decode workers (a crowd's round): those received without a worker must still be
        // processed; they used to wait forever in ProcessedAsync, and every such submit ended at the client's deadline.
        int count = Rounds.IncomingPayload.MaxWorkers + 1;
        using var h = new EngineHarness(o => o with { Quorum = count, JoinsPerMinute = 100 });
        var crowd = Enumerable.Range(0, count).Select(_ => h.Join()).ToList();
        var trained = crowd.Select(v => (Volunteer: v, Update: v.Train(v.Lease()))).ToList();
        var tickets = trained.Select(t => h.Engine.BeginSubmit(t.Update.Envelope.Bytes, t.Update.Envelope.Signature, t.Volunteer.Id)).ToList();
        var payloads = tickets.Select(t => h.Engine.ReceivePayload(t)).ToList();
        try
        {
            // At most MaxWorkers are pipelined at once in this process, so at least one of these is plain.
            Assert.Contains(payloads, p => !p.Pipelined);
            for (int i = 0; i < count; i++)
            {
                byte[] bytes = trained[i].Update.Payload;
                Assert.Equal(bytes.Length, payloads[i].Length);
                bytes.CopyTo(payloads[i].Buffer);
                payloads[i].Report(bytes.Length);
            }
            await Task.WhenAll(payloads.Select(p => p.ProcessedAsync())).WaitAsync(Patience);
            for (int i = 0; i < count; i++) Assert.True(h.Engine.CompleteSubmit(tickets[i], payloads[i]) > 0);
        }
        finally
        {
            foreach (var p in payloads) await p.DisposeAsync();
            foreach (var t in tickets) t.Dispose();
        }
    }

    private const ulong Memory = (ulong)EngineHarness.VolunteerMemory;

    private static (byte[] Nonce, byte[] Signature) SignedJoin(EngineHarness h, VolunteerIdentity identity)
    {
        var (nonce, _) = h.Engine.IssueChallenge(identity.PublicKey);
        return (nonce, JoinChallenge.Sign(identity, ProtocolVersion.Current, h.Engine.RunId, nonce, Memory, "cpu", ""));
    }
}
