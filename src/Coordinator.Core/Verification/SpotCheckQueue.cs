using System.Threading.Channels;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// Checks waiting to run, bounded, with one worker off the engine's lock: a submission only enqueues (never waits), and a check
/// drawn while the queue is full is refused here and recorded as skipped by the caller. Recomputations run one at a time, so
/// they take at most one core from the coordinator.
/// </summary>
public sealed class SpotCheckQueue : IAsyncDisposable
{
    private readonly Channel<SpotCheckJob> _jobs;
    private readonly Task _worker;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _idle = new(); // Monitor.Wait needs a monitor, not a System.Threading.Lock
    private int _pending;

    /// <param name="capacity">Jobs that may wait at once.</param>
    /// <param name="run">Runs one check; its exceptions are handed to <paramref name="failed"/>, and the worker carries on.</param>
    /// <param name="failed">Told about a check that threw (the job and the exception).</param>
    public SpotCheckQueue(int capacity, Action<SpotCheckJob, CancellationToken> run, Action<SpotCheckJob, Exception> failed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _jobs = Channel.CreateBounded<SpotCheckJob>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _worker = Task.Factory.StartNew(() => Drain(run, failed), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Checks enqueued or running.</summary>
    public int Pending
    {
        get
        {
            lock (_idle) return _pending;
        }
    }

    /// <summary>Enqueues without waiting; false when the queue is full (or stopped).</summary>
    public bool TryEnqueue(SpotCheckJob job)
    {
        lock (_idle) _pending++;
        if (_jobs.Writer.TryWrite(job)) return true;
        Done();
        return false;
    }

    /// <summary>
    /// Waits until no check is queued or running (each decided and recorded), at most <paramref name="timeout"/>; false on timeout.
    /// For simulations on a virtual clock, which must see a check's verdict before their next event.
    /// </summary>
    public bool WaitIdle(TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_idle)
        {
            while (_pending > 0)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0 || !Monitor.Wait(_idle, TimeSpan.FromMilliseconds(left))) return _pending == 0;
            }
            return true;
        }
    }

    private void Done()
    {
        lock (_idle)
        {
            if (--_pending == 0) Monitor.PulseAll(_idle);
        }
    }

    private async Task Drain(Action<SpotCheckJob, CancellationToken> run, Action<SpotCheckJob, Exception> failed)
    {
        try
        {
            await foreach (var job in _jobs.Reader.ReadAllAsync(_stop.Token))
            {
                try
                {
                    run(job, _stop.Token);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    failed(job, e);
                }
                finally
                {
                    Done();
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopping: checks still queued are dropped (they were never promised to anyone).
        }
    }

    /// <summary>Stops taking jobs, cancels the running one and waits for the worker.</summary>
    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        await _stop.CancelAsync();
        await _worker.ConfigureAwait(false);
        _stop.Dispose();
    }
}
