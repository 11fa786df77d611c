namespace Hivemind.Simulations.Scenarios;

/// <summary>A dedicated cluster to match: a device and how many of it.</summary>
public sealed class ClusterSection
{
    /// <summary>Name for reports ("TPU v3-256").</summary>
    public required string Name { get; init; }

    /// <summary>Device table name of its accelerator.</summary>
    public required string Device { get; init; }

    /// <summary>Accelerator count (TPU v3-256 has 256 cores = 128 chips).</summary>
    public int Count { get; init; }

    /// <summary>Fraction of peak the cluster reaches; absent means the device row's utilization.</summary>
    public double? Utilization { get; init; }
}
