using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// Drops an update stream that is silent for longer than the idle timeout, or that, after that grace period, averages fewer bytes
/// per second than the minimum rate: a slow-loris upload must not hold a lease slot, memory and a connection for ever. Runs on the
/// engine's <see cref="TimeProvider"/>, so tests drive it with a fake clock.
/// </summary>
public sealed class StreamWatchdog : IProgress<long>, IDisposable
{
    /// <summary>How often the stream's progress is looked at.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly TimeSpan _idle;
    private readonly long _minBytesPerSecond;
    private readonly CancellationTokenSource _cts;
    private readonly ITimer _timer;
    private readonly DateTimeOffset _started;
    private DateTimeOffset _lastProgress;
    private long _bytes;
    private string? _reason;

    public StreamWatchdog(TimeProvider time, TimeSpan idle, long minBytesPerSecond, CancellationToken callCancelled)
    {
        _time = time;
        _idle = idle;
        _minBytesPerSecond = minBytesPerSecond;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(callCancelled);
        _started = _lastProgress = time.GetUtcNow();
        _timer = time.CreateTimer(_ => Check(), null, CheckInterval, CheckInterval);
    }

    /// <summary>Cancelled when the stream is too slow (or the call ends).</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>Why the stream was dropped, once it was.</summary>
    public string? Reason => Volatile.Read(ref _reason);

    /// <summary>Total payload bytes received so far.</summary>
    public void Report(long value)
    {
        lock (_cts)
        {
            _bytes = value;
            _lastProgress = _time.GetUtcNow();
        }
    }

    /// <summary>A header or any other message arrived.</summary>
    public void Touch() => Report(Interlocked.Read(ref _bytes));

    /// <summary>The rejection to send when <see cref="Token"/> fired because of this watchdog.</summary>
    public ProtocolException ToRejection() => new(RejectReason.TooSlow, Reason ?? "the update stream was too slow");

    private void Check()
    {
        var now = _time.GetUtcNow();
        string? reason = null;
        lock (_cts)
        {
            var elapsed = now - _started;
            if (now - _lastProgress > _idle)
                reason = $"no data for {(now - _lastProgress).TotalSeconds:0} s (--submit-idle-timeout {_idle.TotalSeconds:0} s) after {_bytes} bytes";
            else if (elapsed > _idle && _bytes < _minBytesPerSecond * (elapsed - _idle).TotalSeconds)
                reason = $"{_bytes} bytes in {elapsed.TotalSeconds:0} s, below --submit-minimum-bytes-per-second {_minBytesPerSecond} after a {_idle.TotalSeconds:0} s grace";
        }
        if (reason is null || Interlocked.CompareExchange(ref _reason, reason, null) is not null) return;
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call ended meanwhile.
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _cts.Dispose();
    }
}
