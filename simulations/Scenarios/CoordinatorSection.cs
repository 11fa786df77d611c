namespace Hivemind.Simulations.Scenarios;

/// <summary>"coordinator": its link (shared by all volunteers of a round) and its aggregation cores.</summary>
public sealed record CoordinatorSection
{
    /// <summary>Coordinator link in Mb/s, shared equally by the transfers of a round.</summary>
    public double LinkMbps { get; init; } = 10_000;

    /// <summary>Cores the aggregation is spread over.</summary>
    public int AggregationCores { get; init; } = 16;
}
