namespace Hivemind.PortMapping;

/// <summary>
/// A granted mapping kept alive: renewed at half its lifetime (RFC 6886 §3.3's advice, used for UPnP leases too), retried at half the
/// remaining time when a renewal fails, and removed on dispose and at process exit, so a node does not leave a hole in the router.
/// </summary>
public sealed class PortMappingLease : IAsyncDisposable
{
    /// <summary>A failed renewal is retried no sooner than this, so a dead router is not asked in a tight loop.</summary>
    public static readonly TimeSpan MinRetry = TimeSpan.FromSeconds(5);

    /// <summary>How long process exit waits for the router to confirm the removal.</summary>
    public static readonly TimeSpan RemovalOnExitTimeout = TimeSpan.FromSeconds(3);

    private readonly IPortMapper _mapper;
    private readonly PortMappingRequest _request;
    private readonly TimeProvider _time;
    private readonly ITimer? _timer;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private DateTimeOffset _expires;
    private int _disposed;

    private PortMappingLease(IPortMapper mapper, PortMappingRequest request, MappedPort mapping, TimeProvider time)
    {
        _mapper = mapper;
        _request = request;
        _time = time;
        Current = mapping;
        _expires = time.GetUtcNow() + mapping.Lifetime;
        // Lifetime zero is a permanent UPnP mapping (routers that refuse leases): nothing to renew.
        if (mapping.Lifetime > TimeSpan.Zero)
            _timer = time.CreateTimer(_ => _ = RenewAsync(), null, mapping.Lifetime / 2, Timeout.InfiniteTimeSpan);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>The mapping as last granted.</summary>
    public MappedPort Current { get; private set; }

    /// <summary>Raised after each successful renewal.</summary>
    public event Action<MappedPort>? Renewed;

    /// <summary>Raised when a renewal fails; another attempt is scheduled.</summary>
    public event Action<PortMappingException>? RenewalFailed;

    /// <summary>Asks <paramref name="mapper"/> for the mapping and keeps it alive until disposed; the lease owns the mapper from then on.</summary>
    public static async Task<PortMappingLease> CreateAsync(IPortMapper mapper, PortMappingRequest request, TimeProvider? time = null, CancellationToken ct = default)
    {
        var mapping = await mapper.MapAsync(request, ct);
        return new PortMappingLease(mapper, request, mapping, time ?? TimeProvider.System);
    }

    /// <summary>Renews now; the timer calls this at half-life. Returns false (and raises <see cref="RenewalFailed"/>) when the router refused or did not answer.</summary>
    public async Task<bool> RenewAsync()
    {
        if (!await TryEnterAsync()) return false;
        try
        {
            // Ask for the port we hold: NAT-PMP may otherwise hand out another one.
            var mapping = await _mapper.MapAsync(_request with { ExternalPort = Current.ExternalPort }, _stop.Token);
            Current = mapping;
            _expires = _time.GetUtcNow() + mapping.Lifetime;
            if (mapping.Lifetime > TimeSpan.Zero) _timer?.Change(mapping.Lifetime / 2, Timeout.InfiniteTimeSpan);
            Renewed?.Invoke(mapping);
            return true;
        }
        catch (PortMappingException e)
        {
            var remaining = _expires - _time.GetUtcNow();
            var retry = remaining / 2 > MinRetry ? remaining / 2 : MinRetry;
            _timer?.Change(retry, Timeout.InfiniteTimeSpan);
            RenewalFailed?.Invoke(e);
            return false;
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops renewing and removes the mapping. A router that does not confirm the removal is reported by the exception, and the mapping then expires with its lifetime.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        _stop.Cancel();
        if (_timer is not null) await _timer.DisposeAsync();
        await _gate.WaitAsync(); // let an in-flight renewal finish before deleting
        try
        {
            await _mapper.UnmapAsync(Current);
        }
        finally
        {
            _gate.Release();
            _stop.Dispose();
            (_mapper as IDisposable)?.Dispose();
        }
    }

    private async Task<bool> TryEnterAsync()
    {
        if (Volatile.Read(ref _disposed) != 0) return false;
        try
        {
            await _gate.WaitAsync(_stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
        if (Volatile.Read(ref _disposed) == 0) return true;
        _gate.Release();
        return false;
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        try
        {
            DisposeAsync().AsTask().Wait(RemovalOnExitTimeout);
        }
        catch (AggregateException)
        {
            // Exiting anyway; the router drops the mapping when its lifetime ends.
        }
    }
}
