using System.Collections.Concurrent;
using System.Diagnostics;

namespace Hivemind.Coordinator.Storage;

/// <summary>
/// Group commit: items queued from many request threads are written by one writer thread in batches, each batch in one durable
/// transaction (one fsync for all of them). An item's task completes only after its batch committed, so a reply sent after awaiting
/// it is still durable before it is sent; if the batch fails, every item of it fails with that exception. The number of items
/// waiting is bounded: <see cref="TryReserve"/> says no beyond <see cref="Capacity"/>, so an overloaded coordinator answers at once
/// (with <see cref="RetryAdvice"/>) instead of letting callers' deadlines expire in a queue. Request threads never wait on the store.
/// </summary>
public sealed class GroupCommit<T> : IDisposable
{
    /// <summary>Shortest retry advice: below this a retry would arrive before the queue could have moved.</summary>
    public static readonly TimeSpan MinimumRetryAdvice = TimeSpan.FromMilliseconds(250);

    /// <summary>Weight of the newest batch in the running commit-time average.</summary>
    private const double CommitTimeSmoothing = 0.2;

    private readonly Action<IReadOnlyList<T>> _commit;
    private readonly BlockingCollection<(T Item, TaskCompletionSource Done)> _queue = new();
    private readonly Thread _writer;
    private int _pending;
    private long _batches;
    private long _committed;
    private double _commitMs;
    private int _disposed;

    /// <param name="commit">Writes a batch durably (one transaction); runs on the writer thread only.</param>
    /// <param name="capacity">Items waiting or being committed at most.</param>
    /// <param name="maxBatch">Items per transaction at most.</param>
    /// <param name="name">The writer thread's name (for stack dumps).</param>
    public GroupCommit(Action<IReadOnlyList<T>> commit, int capacity, int maxBatch, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _commit = commit;
        Capacity = capacity;
        MaxBatch = maxBatch;
        _writer = new Thread(Run) { IsBackground = true, Name = name };
        _writer.Start();
    }

    public int Capacity { get; }

    public int MaxBatch { get; }

    /// <summary>Items reserved, queued or being committed.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Transactions committed so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Items committed so far.</summary>
    public long Committed => Interlocked.Read(ref _committed);

    /// <summary>
    /// When a refused caller should come back: the time the writer needs to drain what is waiting now (batches of
    /// <see cref="MaxBatch"/> at the running average commit time), at least <see cref="MinimumRetryAdvice"/>. Callers add jitter.
    /// </summary>
    public TimeSpan RetryAdvice
    {
        get
        {
            double batches = Math.Ceiling(Pending / (double)MaxBatch);
            double ms = batches * Volatile.Read(ref _commitMs);
            return ms > MinimumRetryAdvice.TotalMilliseconds ? TimeSpan.FromMilliseconds(ms) : MinimumRetryAdvice;
        }
    }

    /// <summary>Takes a place in the queue; false (nothing changed) when <see cref="Capacity"/> items are already waiting.</summary>
    public bool TryReserve()
    {
        if (Interlocked.Increment(ref _pending) <= Capacity) return true;
        Interlocked.Decrement(ref _pending);
        return false;
    }

    /// <summary>Gives back a reservation that will not be enqueued (the caller was refused for another reason).</summary>
    public void Release() => Interlocked.Decrement(ref _pending);

    /// <summary>Queues <paramref name="item"/> on a place taken with <see cref="TryReserve"/>; the task completes once its batch is durable.</summary>
    public Task Enqueue(T item)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _queue.Add((item, done));
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            Release();
            done.SetException(new ObjectDisposedException(nameof(GroupCommit<T>), "the store is closing; nothing was written"));
        }
        return done.Task;
    }

    private void Run()
    {
        var batch = new List<(T Item, TaskCompletionSource Done)>(MaxBatch);
        foreach (var first in _queue.GetConsumingEnumerable())
        {
            batch.Add(first);
            // Everything that queued while the previous batch was being made durable goes into this one.
            while (batch.Count < MaxBatch && _queue.TryTake(out var next)) batch.Add(next);
            Exception? failure = null;
            long start = Stopwatch.GetTimestamp();
            try
            {
                _commit(batch.ConvertAll(b => b.Item));
                Interlocked.Increment(ref _batches);
                Interlocked.Add(ref _committed, batch.Count);
            }
            catch (Exception e)
            {
                failure = e;
            }
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            double previous = Volatile.Read(ref _commitMs);
            Volatile.Write(ref _commitMs, previous == 0 ? ms : previous + CommitTimeSmoothing * (ms - previous));
            Interlocked.Add(ref _pending, -batch.Count);
            foreach (var (_, done) in batch)
            {
                if (failure is null) done.SetResult();
                else done.SetException(failure);
            }
            batch.Clear();
        }
    }

    /// <summary>Commits what is queued, then stops the writer; later <see cref="Enqueue"/> calls fail.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.CompleteAdding();
        _writer.Join();
        _queue.Dispose();
    }
}
