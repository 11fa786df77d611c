using System.Diagnostics;
using System.Globalization;

namespace Hivemind.Coordinator.Metrics;

/// <summary>
/// How late work queued to the thread pool starts in the coordinator: a timer continuation every <see cref="Interval"/> records how late
/// it ran, with the pool's queue length and thread count at that moment. Every gRPC call starts the same way, so a latency tail that
/// the engine's own phase timings do not show but this does is queueing before the handler (blocked or starved pool threads).
/// The host logs <see cref="Summary"/> at shutdown.
/// </summary>
public sealed class ThreadPoolProbe : IAsyncDisposable
{
    /// <summary>How often the probe wakes.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Lateness above this counts as a stall (the load test's p99 target is 100 ms).</summary>
    private const double StallMs = 50;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<double> _lateMs = [];
    private long _maxPending;
    private int _maxThreads;
    private int _stalls;
    private long _pendingAtWorst;
    private int _threadsAtWorst;

    public ThreadPoolProbe() => _loop = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                await Task.Delay(Interval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            double late = (Stopwatch.GetElapsedTime(start) - Interval).TotalMilliseconds;
            long pending = ThreadPool.PendingWorkItemCount;
            int threads = ThreadPool.ThreadCount;
            lock (_lateMs)
            {
                if (_lateMs.Count == 0 || late > _lateMs.Max())
                {
                    _pendingAtWorst = pending;
                    _threadsAtWorst = threads;
                }
                _lateMs.Add(late);
                _maxPending = Math.Max(_maxPending, pending);
                _maxThreads = Math.Max(_maxThreads, threads);
                if (late > StallMs) _stalls++;
            }
        }
    }

    /// <summary>One line: probe lateness p50/p99/max, stalls over <see cref="StallMs"/>, and the pool's largest queue and thread count.</summary>
    public string Summary()
    {
        lock (_lateMs)
        {
            if (_lateMs.Count == 0) return "thread-pool probe: no samples";
            var sorted = _lateMs.Order().ToArray();
            double P(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
            return string.Create(CultureInfo.InvariantCulture,
                $"thread-pool probe: {sorted.Length} wakes every {Interval.TotalMilliseconds:0} ms, late p50 {P(0.5):0.0} ms, p99 {P(0.99):0.0} ms, max {sorted[^1]:0.0} ms " +
                $"(queue {_pendingAtWorst}, {_threadsAtWorst} threads then); late over {StallMs:0} ms: {_stalls}; largest queue {_maxPending}, most threads {_maxThreads}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
