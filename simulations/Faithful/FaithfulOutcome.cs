using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Faithful;

/// <summary>Everything a faithful scenario produced, ready for the report.</summary>
public sealed record FaithfulOutcome(
    Scenario Scenario,
    bool Smoke,
    FaithfulConfig Base,
    IReadOnlyList<FaithfulRun> Runs,
    IReadOnlyList<CentralizedResult> Baselines);
