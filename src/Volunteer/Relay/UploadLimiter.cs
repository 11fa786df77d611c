namespace Hivemind.Volunteer.Relay;

/// <summary>The relay's upload cap: a token bucket holding one second of upload (at least one chunk), shared by all streams.</summary>
public sealed class UploadLimiter(long bytesPerSecond, TimeProvider time)
{
    private readonly Lock _gate = new();
    private double _tokens = bytesPerSecond;
    private DateTimeOffset _refilled = time.GetUtcNow();

    /// <summary>Waits until <paramref name="bytes"/> may be sent; returns at once without a cap.</summary>
    public async Task TakeAsync(int bytes, CancellationToken ct)
    {
        if (bytesPerSecond <= 0) return;
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                var now = time.GetUtcNow();
                double capacity = Math.Max(bytesPerSecond, bytes);
                _tokens = Math.Min(capacity, _tokens + (now - _refilled).TotalSeconds * bytesPerSecond);
                _refilled = now;
                if (_tokens >= bytes)
                {
                    _tokens -= bytes;
                    return;
                }
                wait = TimeSpan.FromSeconds((bytes - _tokens) / bytesPerSecond);
            }
            await Task.Delay(wait, time, ct);
        }
    }
}
