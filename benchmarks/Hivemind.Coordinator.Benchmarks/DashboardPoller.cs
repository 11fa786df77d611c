namespace Hivemind.Coordinator.Benchmarks;

/// <summary>Does what an open dashboard page does (plus a Prometheus scrape) on a fixed period until disposed.</summary>
internal sealed class DashboardPoller : IAsyncDisposable
{
    private static readonly string[] Paths = ["/api/status", "/api/series?from=0", "/api/rounds?limit=25", "/api/volunteers?limit=25", "/api/rejections", "/api/transfers", "/metrics"];

    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _polls;
    private int _failures;

    private DashboardPoller(string address, TimeSpan period)
    {
        _http = new HttpClient { BaseAddress = new Uri(address) };
        _loop = RunAsync(period);
    }

    private bool _disposed;

    public int Polls => Volatile.Read(ref _polls);

    public int Failures => Volatile.Read(ref _failures);

    public static DashboardPoller Start(string address, TimeSpan period) => new(address, period);

    private async Task RunAsync(TimeSpan period)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            // At once, then once a period, as a page that was just opened.
            do
            {
                foreach (string path in Paths)
                {
                    using var response = await _http.GetAsync(path, _stop.Token);
                    await response.Content.ReadAsByteArrayAsync(_stop.Token);
                    if (!response.IsSuccessStatusCode) Interlocked.Increment(ref _failures);
                }
                Interlocked.Increment(ref _polls);
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stop.CancelAsync();
        await _loop;
        _http.Dispose();
        _stop.Dispose();
    }
}
