namespace Hivemind.Coordinator.Dashboard;

/// <summary>
/// Where the dashboard, its JSON API and <c>/metrics</c> listen (plain HTTP/1.1, which browsers and Prometheus speak;
/// the gRPC port is HTTP/2 only), and how often the snapshot behind them is refreshed. Port 0 takes any free port.
/// </summary>
public sealed record DashboardSettings(int Port, string Host = "127.0.0.1")
{
    /// <summary>The snapshot is rebuilt at least this often (and sooner after an engine event).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Engine events may trigger refreshes no closer together than this, so a burst of submissions costs one read.</summary>
    public TimeSpan MinRefreshInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The engine's clock, for "active in the last 30 s" and tokens per second (tests pass their fake clock).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Checks the settings; throws an <see cref="ArgumentException"/> naming the bad value and the fix.</summary>
    public DashboardSettings Validate()
    {
        if (Port is < 0 or > 65535)
            throw new ArgumentException($"--dashboard-port {Port} is not a TCP port; use 1-65535, or 0 for any free port.");
        if (RefreshInterval <= TimeSpan.Zero || MinRefreshInterval < TimeSpan.Zero || MinRefreshInterval > RefreshInterval)
            throw new ArgumentException($"dashboard refresh interval {RefreshInterval} and minimum {MinRefreshInterval} must satisfy 0 <= minimum <= interval, interval > 0.");
        return this;
    }
}
