using Hivemind.Simulations.Simulation;

namespace Hivemind.Simulations.Scenarios;

/// <summary>"volunteers": how many, on what devices and links, and how long they stay.</summary>
public sealed record VolunteersSection
{
    /// <summary>Volunteer slots; each alternates an online session and an offline gap, after which a new volunteer takes the slot.</summary>
    public int Count { get; init; } = 100;

    /// <summary>Device mix by weight.</summary>
    public List<DeviceShare> Devices { get; init; } = [new() { Device = "rtx3090" }];

    /// <summary>Download link speed in Mb/s.</summary>
    public Distribution DownloadMbps { get; init; } = Distribution.LogNormal(100, 0.5);

    /// <summary>Upload link speed in Mb/s; absent means the download distribution.</summary>
    public Distribution? UploadMbps { get; init; }

    /// <summary>One-way setup latency per transfer, in milliseconds.</summary>
    public Distribution LatencyMs { get; init; } = Distribution.LogNormal(50, 0.5);

    /// <summary>Session length in hours (exponential mean 4 h as in DeDLOC's sahajBERT run); null disables churn.</summary>
    public Distribution? SessionHours { get; init; } = Distribution.Exponential(4);

    /// <summary>Gap before the next volunteer takes a slot, in hours.</summary>
    public Distribution OfflineHours { get; init; } = Distribution.Exponential(1);

    /// <summary>Share of slots that are reachable relays serving the current version to the others (0..1; 0 = none).</summary>
    public double RelayFraction { get; init; }

    /// <summary>Share of a relay's uplink it lends to serving (0..1].</summary>
    public double RelayUploadShare { get; init; } = 0.5;

    /// <summary>Slow volunteers.</summary>
    public StragglerSection Stragglers { get; init; } = new();
}
