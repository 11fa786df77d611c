namespace Hivemind.Coordinator;

/// <summary>The values of <see cref="CoordinatorOptions.SpotCheckMode"/>: who recomputes a drawn spot check.</summary>
public static class SpotCheckModes
{
    /// <summary>The coordinator's own trainer (default).</summary>
    public const string Coordinator = "coordinator";

    /// <summary>Another reputable volunteer, leased the unit blind; the coordinator breaks ties and takes over checks nobody returns.</summary>
    public const string Volunteer = "volunteer";
}
