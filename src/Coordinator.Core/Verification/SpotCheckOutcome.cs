namespace Hivemind.Coordinator.Verification;

/// <summary>
/// The durable record of one drawn spot check: which accepted update (ledger sequence, unit, key), the verdict, the worst-group
/// divergence, the evidence file of a failure (relative to the data directory) and how many of the key's not-yet-aggregated
/// updates were dropped.
/// </summary>
public sealed record SpotCheckOutcome(
    long UpdateSequence, string WorkUnitId, string VolunteerId, SpotCheckVerdict Verdict, double MaxRelativeL2, double MinCosine,
    string? EvidencePath, int DroppedUpdates, string Detail, long AtMs)
{
    /// <summary>Who recomputed (the ledger's <c>checker</c>): "coordinator", or the blind checker's key when its result alone decided.</summary>
    public string Checker { get; init; } = "coordinator";

    /// <summary>Volunteer mode: the check unit whose result was compared (the ledger's <c>check_unit</c>), else null.</summary>
    public string? CheckUnit { get; init; }
}
