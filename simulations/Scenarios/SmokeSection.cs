namespace Hivemind.Simulations.Scenarios;

/// <summary>"smoke": smaller values used with --smoke so the scenario runs in CI in seconds.</summary>
public sealed record SmokeSection
{
    /// <summary>Replaces volunteers.count.</summary>
    public int? Volunteers { get; init; }

    /// <summary>Replaces round.rounds (and clusterMatch.rounds).</summary>
    public int? Rounds { get; init; }

    /// <summary>Replaces clusterMatch.maxVolunteers.</summary>
    public int? MaxVolunteers { get; init; }

    /// <summary>Replaces sweep.volunteers.</summary>
    public List<int>? SweepVolunteers { get; init; }

    /// <summary>Replaces faithful.innerStepsSweep.</summary>
    public List<int>? InnerStepsSweep { get; init; }

    /// <summary>Replaces faithful.quorumSweep.</summary>
    public List<double>? QuorumSweep { get; init; }

    /// <summary>Replaces faithful.stalenessSweep.</summary>
    public List<int>? StalenessSweep { get; init; }

    /// <summary>Replaces faithful.attacks.</summary>
    public List<string>? Attacks { get; init; }

    /// <summary>Replaces faithful.aggregators.</summary>
    public List<string>? Aggregators { get; init; }

    /// <summary>Replaces faithful.byzantineFractions.</summary>
    public List<double>? ByzantineFractions { get; init; }

    /// <summary>Replaces faithful.alphaSweep.</summary>
    public List<double>? AlphaSweep { get; init; }

    /// <summary>Replaces faithful.seeds.</summary>
    public int? Seeds { get; init; }
}
