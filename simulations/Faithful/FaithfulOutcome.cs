using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Faithful;

/// <summary>Everything a faithful scenario produced, ready for the report.</summary>
public sealed record FaithfulOutcome(
    Scenario Scenario,
    bool Smoke,
    FaithfulConfig Base,
    IReadOnlyList<FaithfulRun> Runs,
    IReadOnlyList<CentralizedResult> Baselines)
{
    /// <summary>Runs that stopped on a native error; they are missing from <see cref="Runs"/> and named in the report.</summary>
    public IReadOnlyList<FaithfulFailure> Failures { get; init; } = [];

    /// <summary>Runs left out because the wall-time budget (--max-minutes) ran out, by their axes.</summary>
    public IReadOnlyList<string> NotRun { get; init; } = [];
}
