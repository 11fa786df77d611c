namespace Hivemind.Coordinator.Admission;

/// <summary>
/// Token bucket for joins on a <see cref="TimeProvider"/>. System.Threading.RateLimiting's limiters read the
/// wall clock and cannot run on virtual time, which the tests and the simulator need; this is the small part we write.
/// </summary>
public sealed class JoinRateLimiter
{
    private readonly TimeProvider _time;
    private readonly double _perSecond;
    private readonly double _burst;
    private readonly object _gate = new();
    private double _tokens;
    private long _lastTicks;

    public JoinRateLimiter(TimeProvider time, int perMinute)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1);
        _time = time;
        _perSecond = perMinute / 60.0;
        _burst = perMinute;
        _tokens = _burst;
        _lastTicks = time.GetTimestamp();
    }

    /// <summary>Takes one token; false means the caller should retry after <paramref name="retryAfter"/>.</summary>
    public bool TryAcquire(out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + _time.GetElapsedTime(_lastTicks, now).TotalSeconds * _perSecond);
            _lastTicks = now;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            retryAfter = TimeSpan.FromSeconds((1 - _tokens) / _perSecond);
            return false;
        }
    }
}
