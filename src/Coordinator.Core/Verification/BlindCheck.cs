namespace Hivemind.Coordinator.Verification;

/// <summary>
/// A spot check drawn in volunteer mode: the coordinator's job for it (kept for the tie-breaker and the fallback), the round whose
/// version it trains from, and once leased the check unit and its checker. Owned by the engine, changed under its lock.
/// </summary>
public sealed class BlindCheck(SpotCheckJob job, long round)
{
    public SpotCheckJob Job { get; } = job;

    /// <summary>The round (and version) of the checked unit: a check unit is only ever leased while it is current.</summary>
    public long Round { get; } = round;

    /// <summary>The check unit's id once leased, else null.</summary>
    public string? CheckUnitId { get; set; }

    /// <summary>The checker's key once leased, else null.</summary>
    public string? CheckerId { get; set; }
}
