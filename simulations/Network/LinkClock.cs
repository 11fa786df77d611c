namespace Hivemind.Simulations.Network;

/// <summary>
/// One direction of a throttled link: bytes cross it one after another at a fixed rate, as on a real access link whose rate,
/// not its latency, bounds a transfer. Thread-safe; time comes from a <see cref="TimeProvider"/>, so tests drive it with a fake clock.
/// </summary>
/// <remarks>
/// A serial (store-and-forward) clock rather than a token bucket with a burst: an idle link gives no credit, so a transfer of n bytes
/// takes n ÷ rate whenever it starts, which is what the simulator's transfer model assumes.
/// </remarks>
public sealed class LinkClock
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly long _start;
    private long _freeAt; // ticks since _start at which the last reserved byte has crossed (integer: bookings add up exactly)

    /// <summary>A link carrying <paramref name="bytesPerSecond"/>.</summary>
    public LinkClock(double bytesPerSecond, TimeProvider? time = null)
    {
        if (!(bytesPerSecond > 0) || double.IsInfinity(bytesPerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(bytesPerSecond), bytesPerSecond, $"link rate {bytesPerSecond} bytes/s must be a positive, finite number; leave the link unthrottled instead of passing infinity");
        }

        BytesPerSecond = bytesPerSecond;
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
    }

    /// <summary>The link's rate.</summary>
    public double BytesPerSecond { get; }

    /// <summary>Bytes reserved so far.</summary>
    public long BytesCarried { get; private set; }

    /// <summary>
    /// Books <paramref name="bytes"/> on the link behind every byte booked before and returns how long from now until the last of them
    /// has crossed (zero or more).
    /// </summary>
    public TimeSpan Reserve(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_gate)
        {
            long now = _time.GetElapsedTime(_start).Ticks;
            _freeAt = Math.Max(_freeAt, now) + (long)Math.Ceiling(bytes * TimeSpan.TicksPerSecond / BytesPerSecond);
            BytesCarried += bytes;
            return TimeSpan.FromTicks(_freeAt - now);
        }
    }

    /// <summary>Waits until <paramref name="bytes"/> booked now have crossed the link.</summary>
    public Task CrossAsync(int bytes, CancellationToken cancellationToken)
    {
        var wait = Reserve(bytes);
        return wait > TimeSpan.Zero ? Task.Delay(wait, _time, cancellationToken) : Task.CompletedTask;
    }
}
