namespace Hivemind.Coordinator.Admission;

/// <summary>
/// One <see cref="JoinRateLimiter"/> per source address, charged only for verified joins, so nobody can spend another
/// source's allowance (or anyone's, with junk). Bounded: at <see cref="MaxSources"/> the least recently used bucket goes.
/// </summary>
public sealed class SourceRateLimiter
{
    /// <summary>Sources tracked at most; an evicted source starts again with a full bucket, which only helps an attacker with that many addresses.</summary>
    public const int MaxSources = 65_536;

    private readonly TimeProvider _time;
    private readonly int _perMinute;
    private readonly Dictionary<string, (JoinRateLimiter Limiter, long LastUse)> _buckets = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _uses;

    public SourceRateLimiter(TimeProvider time, int perMinute)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1);
        _time = time;
        _perMinute = perMinute;
    }

    /// <summary>Takes one token from <paramref name="source"/>'s bucket; false means retry after <paramref name="retryAfter"/>.</summary>
    public bool TryAcquire(string source, out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            if (!_buckets.TryGetValue(source, out var entry))
            {
                if (_buckets.Count >= MaxSources)
                    _buckets.Remove(_buckets.MinBy(p => p.Value.LastUse).Key);
                entry = (new JoinRateLimiter(_time, _perMinute), 0);
            }
            _buckets[source] = (entry.Limiter, ++_uses);
            return entry.Limiter.TryAcquire(out retryAfter);
        }
    }
}
