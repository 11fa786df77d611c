namespace Hivemind.Coordinator.Rounds.Closing;

/// <summary>
/// The task scheduler a round close's CPU work runs under, so it never takes every core from the request threads. The aggregation
/// kernels and the checkpoint writer use <c>Parallel.For</c>/<c>Parallel.Invoke</c>, which run on <see cref="TaskScheduler.Current"/>
/// with at most its <see cref="MaximumConcurrencyLevel"/> workers: under this scheduler that is one core fewer than the machine has
/// (the calling thread included), so a close leaves a core for leases, heartbeats and downloads. On the shared thread pool a close
/// filled every worker and every core, and each call that arrived meanwhile queued behind the aggregation's chunks (issue 9's lease
/// tail: with two cores, every lease asked during a close waited for its whole aggregation).
/// </summary>
public sealed class CloseScheduler : TaskScheduler
{
    /// <param name="workers">Threads the close may use at once, the calling thread included (at least 1).</param>
    public CloseScheduler(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        MaximumConcurrencyLevel = workers;
    }

    /// <summary>One core fewer than the machine has, at least one.</summary>
    public static int DefaultWorkers => Math.Max(1, Environment.ProcessorCount - 1);

    public override int MaximumConcurrencyLevel { get; }

    /// <summary>Runs <paramref name="work"/> on the calling thread with this scheduler as <see cref="TaskScheduler.Current"/>; rethrows its exception.</summary>
    public T Run<T>(Func<T> work)
    {
        var task = new Task<T>(work);
        task.RunSynchronously(this);
        return task.GetAwaiter().GetResult();
    }

    // Parallel loops queue at most MaximumConcurrencyLevel − 1 helpers (the caller is the first worker); they run on the thread pool.
    protected override void QueueTask(Task task) => ThreadPool.UnsafeQueueUserWorkItem(t => TryExecuteTask(t), task, preferLocal: false);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => TryExecuteTask(task);

    protected override IEnumerable<Task>? GetScheduledTasks() => null;
}
