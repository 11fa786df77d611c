namespace Hivemind.Simulations.Scenarios;

/// <summary>"clusterMatch": find how many volunteers of each device on each link speed reach each cluster's tokens/s.</summary>
public sealed record ClusterMatchSection
{
    /// <summary>Volunteer devices to try.</summary>
    public List<string> Devices { get; init; } = [];

    /// <summary>Volunteer link speeds to try, in Mb/s.</summary>
    public List<double> LinkMbps { get; init; } = [];

    /// <summary>Clusters to match.</summary>
    public List<ClusterSection> Clusters { get; init; } = [];

    /// <summary>Largest pool the search tries.</summary>
    public int MaxVolunteers { get; init; } = 10_000;

    /// <summary>Rounds per trial pool; absent means round.rounds.</summary>
    public int? Rounds { get; init; }
}
