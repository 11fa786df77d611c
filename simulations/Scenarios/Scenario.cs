namespace Hivemind.Simulations.Scenarios;

/// <summary>A scenario file: one experiment, with defaults for everything but its name.</summary>
public sealed record Scenario
{
    /// <summary>Short name, used in reports.</summary>
    public required string Name { get; init; }

    /// <summary>One line on what the scenario answers.</summary>
    public string Description { get; init; } = "";

    /// <summary>Seed of every random draw; the same seed gives the same report.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Scale (no tensors) or faithful (the real engine and training under virtual time).</summary>
    public ScenarioMode Mode { get; init; } = ScenarioMode.Scale;

    /// <summary>The model.</summary>
    public ModelSection Model { get; init; } = new();

    /// <summary>The work unit.</summary>
    public TrainingSection Training { get; init; } = new();

    /// <summary>The codecs.</summary>
    public CodecSection Codec { get; init; } = new();

    /// <summary>The volunteer pool.</summary>
    public VolunteersSection Volunteers { get; init; } = new();

    /// <summary>Round closing rules.</summary>
    public RoundSection Round { get; init; } = new();

    /// <summary>The coordinator's link and cores.</summary>
    public CoordinatorSection Coordinator { get; init; } = new();

    /// <summary>Axes to sweep; absent runs the base configuration once.</summary>
    public SweepSection? Sweep { get; init; }

    /// <summary>Cluster matching searches; optional.</summary>
    public ClusterMatchSection? ClusterMatch { get; init; }

    /// <summary>Extra or replacement device rows.</summary>
    public List<DeviceRow> Devices { get; init; } = [];

    /// <summary>The real engine's settings and experiment (mode "faithful" only).</summary>
    public FaithfulSection? Faithful { get; init; }

    /// <summary>Values used with --smoke.</summary>
    public SmokeSection? Smoke { get; init; }
}
