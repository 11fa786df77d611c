namespace Hivemind.Coordinator.Dashboard;

/// <summary>
/// Keeps the latest <see cref="DashboardSnapshot"/>: rebuilds it every <see cref="DashboardSettings.RefreshInterval"/>
/// and soon after engine activity, on its own thread, and wakes the live page's event streams when what it shows changed.
/// </summary>
public sealed class SnapshotPublisher : BackgroundService
{
    private readonly DashboardReadModel _model;
    private readonly LiveActivity _activity;
    private readonly DashboardSettings _settings;
    private readonly Func<(long Received, long Sent)> _traffic;
    private readonly ILogger<SnapshotPublisher> _log;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly object _refreshGate = new();
    private DashboardSnapshot _current = DashboardSnapshot.Empty;
    private TaskCompletionSource<DashboardSnapshot> _changed = NewSignal();
    private int _fingerprint;

    public SnapshotPublisher(DashboardReadModel model, LiveActivity activity, DashboardSettings settings, Func<(long Received, long Sent)> traffic, ILogger<SnapshotPublisher> log)
    {
        _model = model;
        _activity = activity;
        _settings = settings;
        _traffic = traffic;
        _log = log;
        _activity.Changed += Wake;
    }

    /// <summary>The latest snapshot (never null; empty until the first refresh).</summary>
    public DashboardSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Completes with the next snapshot whose visible content differs from the current one.</summary>
    public Task<DashboardSnapshot> NextChangeAsync(CancellationToken ct) => Volatile.Read(ref _changed).Task.WaitAsync(ct);

    /// <summary>Rebuilds the snapshot now (the background loop does this on its own; tests call it to be exact).</summary>
    public DashboardSnapshot Refresh()
    {
        lock (_refreshGate)
        {
            var (received, sent) = _traffic();
            var next = _model.Refresh(received, sent);
            var previous = Volatile.Read(ref _current);
            // Rounds outside the short tail never change, so the tail decides whether the full series must be rewritten.
            next.FullSeriesJson = previous.FullSeriesJson is { } json && SameRounds(previous, next)
                ? json
                : DashboardEndpoints.SeriesJson(next, 0, DashboardEndpoints.MaxSeriesLength);
            Volatile.Write(ref _current, next);
            int fingerprint = Fingerprint(next);
            if (fingerprint != _fingerprint)
            {
                _fingerprint = fingerprint;
                Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult(next);
            }
            return next;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Refresh();
                // Bursts of events cost one refresh per MinRefreshInterval; otherwise refresh on the next event or tick.
                await Task.Delay(_settings.MinRefreshInterval, stoppingToken);
                await _wake.WaitAsync(_settings.RefreshInterval, stoppingToken);
                while (_wake.CurrentCount > 0) _wake.Wait(0, CancellationToken.None);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A locked or briefly unreadable store must not stop the dashboard: keep the last snapshot and retry.
                _log.LogWarning(e, "dashboard snapshot refresh failed; keeping the previous snapshot and retrying");
                try
                {
                    await Task.Delay(_settings.RefreshInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    private static bool SameRounds(DashboardSnapshot a, DashboardSnapshot b)
    {
        if (a.Rounds.Count != b.Rounds.Count) return false;
        for (int i = Math.Max(0, a.Rounds.Count - DashboardReadModel.MutableTailRounds - 1); i < a.Rounds.Count; i++)
            if (!Equals(a.Rounds[i], b.Rounds[i])) return false;
        return true;
    }

    /// <summary>What the page shows, minus the clock: a change here is worth pushing to open pages.</summary>
    private static int Fingerprint(DashboardSnapshot s)
    {
        var st = s.Status;
        var hash = new HashCode();
        hash.Add(st.Round);
        hash.Add(st.AcceptedUpdates);
        hash.Add(st.RejectedUpdates);
        hash.Add(st.Volunteers);
        hash.Add(st.BannedVolunteers);
        hash.Add(st.ActiveVolunteers);
        hash.Add(st.LeasedWorkUnits);
        hash.Add(st.LastEvalLoss);
        hash.Add(s.Rounds.Count);
        if (s.Rounds.Count > 0) hash.Add(s.Rounds[^1]);
        if (s.Rounds.Count > 1) hash.Add(s.Rounds[^2]);
        foreach (var v in s.Volunteers) hash.Add(v.Reputation);
        return hash.ToHashCode();
    }

    private static TaskCompletionSource<DashboardSnapshot> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override void Dispose()
    {
        _activity.Changed -= Wake;
        _wake.Dispose();
        base.Dispose();
    }
}
