namespace Hivemind.Simulations.Scenarios;

/// <summary>"coordinator": its link (shared by all volunteers of a round) and its aggregation cores.</summary>
public sealed record CoordinatorSection
{
    /// <summary>Coordinator link in Mb/s, shared equally by the transfers of a round.</summary>
    public double LinkMbps { get; init; } = 10_000;

    /// <summary>Cores the aggregation is spread over.</summary>
    public int AggregationCores { get; init; } = 16;

    /// <summary>
    /// Memory in GiB the coordinator has for the model and the round's decoded updates (the engine decodes every accepted update to
    /// fp32 and holds it until the round closes). A round then closes once it holds as many updates as fit, whatever its quorum.
    /// Null (the default): unbounded, so the round holds its whole quorum; every report states what that quorum needs.
    /// </summary>
    public double? MemoryGiB { get; init; }
}
