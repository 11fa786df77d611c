using Hivemind.Coordinator.Rounds.Closing;
using Hivemind.Coordinator.Tests.Infrastructure;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// Issue 9's lease tail: a round close's parallel aggregation must leave a core to the request threads, so the close runs under a
/// scheduler whose parallel loops use at most one core fewer than the machine has.
/// </summary>
public sealed class CloseSchedulerTests
{
    /// <summary>Bound on any wait in these tests (a loaded machine is slow, never this slow).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public void A_parallel_loop_under_one_worker_runs_on_the_calling_thread_only()
    {
        const int Iterations = 256;
        var scheduler = new CloseScheduler(workers: 1);
        int caller = Environment.CurrentManagedThreadId;
        var threads = new HashSet<int>();
        var sums = new double[Iterations];
        int level = scheduler.Run(() =>
        {
            // Parallel loops take their scheduler (and its concurrency cap) from TaskScheduler.Current at the call.
            int seen = TaskScheduler.Current.MaximumConcurrencyLevel;
            Parallel.For(0, Iterations, i =>
            {
                lock (threads) threads.Add(Environment.CurrentManagedThreadId);
                for (int k = 0; k < 20_000; k++) sums[i] += Math.Sqrt(k + i);
            });
            return seen;
        });
        Assert.Equal(1, level);
        Assert.Equal([caller], threads);
        Assert.All(sums, s => Assert.True(s > 0));
    }

    [Fact]
    public void Work_that_throws_rethrows_its_own_exception()
    {
        var scheduler = new CloseScheduler(workers: 2);
        var e = Assert.Throws<IOException>(() => scheduler.Run<int>(() => throw new IOException("disk full")));
        Assert.Equal("disk full", e.Message);
    }

    [Fact]
    public void Fewer_than_one_worker_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CloseScheduler(workers: 0));
    }

    [Fact]
    public async Task A_round_close_decides_under_the_close_scheduler()
    {
        using var h = new EngineHarness(o => o with { Quorum = 1, JoinsPerMinute = 100 });
        var volunteer = h.Join();
        volunteer.Submit(volunteer.Train(volunteer.Lease()));
        var level = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Engine.RoundDeciding += _ => level.TrySetResult(TaskScheduler.Current.MaximumConcurrencyLevel);

        var summary = await Task.Run(h.Engine.Tick).WaitAsync(Patience);

        Assert.NotNull(summary);
        // On the shared pool's default scheduler this is int.MaxValue: a close's parallel loops would take every core.
        Assert.Equal(CloseScheduler.DefaultWorkers, await level.Task.WaitAsync(Patience));
    }
}
