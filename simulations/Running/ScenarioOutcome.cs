using Hivemind.Simulations.Scale;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Running;

/// <summary>Everything a scenario run produced, ready for the reports.</summary>
public sealed record ScenarioOutcome(
    Scenario Scenario,
    bool Smoke,
    ScaleConfig Base,
    IReadOnlyList<SweepRow> Sweep,
    IReadOnlyList<ClusterMatch> Matches);
