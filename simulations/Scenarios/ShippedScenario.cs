namespace Hivemind.Simulations.Scenarios;

/// <summary>A scenario that ships with the simulator; <paramref name="ResourceName"/> is its embedded JSON (null: not runnable).</summary>
public sealed record ShippedScenario(string Name, string Doubt, string Summary, string? ResourceName)
{
    /// <summary>Whether `run` can execute it today.</summary>
    public bool Runnable => ResourceName is not null;
}
