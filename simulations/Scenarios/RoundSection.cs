using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scenarios;

/// <summary>"round": how many rounds, and when one closes.</summary>
public sealed record RoundSection
{
    /// <summary>Rounds to simulate.</summary>
    public int Rounds { get; init; } = 20;

    /// <summary>Fraction of assigned work units whose arrival closes the round, in (0, 1].</summary>
    public double Quorum { get; init; } = 0.9;

    /// <summary>Minutes after opening at which the round closes whatever arrived.</summary>
    public double DeadlineMinutes { get; init; } = 120;

    /// <summary>The aggregator whose cost is charged.</summary>
    public AggregationRule Aggregator { get; init; } = AggregationRule.Median;
}
