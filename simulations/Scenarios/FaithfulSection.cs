using Hivemind.Coordinator;

namespace Hivemind.Simulations.Scenarios;

/// <summary>"faithful": the real engine's settings and the experiment to run; only read when mode is "faithful".</summary>
public sealed record FaithfulSection
{
    /// <summary>
    /// The real engine's settings (<c>"engine": {...}</c>, the coordinator's own option names and defaults, e.g. trunkRule,
    /// batchSize, minExpertHolders, spareLeases). The scenario's shared sections own seed, training.innerSteps, round.quorum,
    /// round.rounds, round.deadlineMinutes and codec.upload, so those may not be set here.
    /// </summary>
    public CoordinatorOptions Engine { get; init; } = new();

    /// <summary>Experts per layer a volunteer holds (its declared memory fits exactly this many); absent: all.</summary>
    public int? ExpertsPerLayer { get; init; }

    /// <summary>Dirichlet α of each volunteer's domain mix; absent: every volunteer gets the engine's uniform mix (i.i.d.).</summary>
    public double? DomainAlpha { get; init; }

    /// <summary>Dirichlet α values: the experiment runs once per value (replaces <see cref="DomainAlpha"/>).</summary>
    public List<double> AlphaSweep { get; init; } = [];

    /// <summary>Seeds per configuration (scenario seed, seed + 1, ...); reports give mean and 95% interval over them.</summary>
    public int Seeds { get; init; } = 1;

    /// <summary>
    /// moe-vs-dense: maxStaleness values, each a run at the base H and quorum with <see cref="StalenessSpareLeases"/> spare
    /// leases, so stragglers' units outlive their round: rejected at 0, aggregated late at 1 or more.
    /// </summary>
    public List<int> StalenessSweep { get; init; } = [];

    /// <summary>moe-vs-dense: spare leases of the staleness-sweep runs (at least 1).</summary>
    public int StalenessSpareLeases { get; init; } = 1;

    /// <summary>Fraction of Byzantine volunteers (experiment "run").</summary>
    public double ByzantineFraction { get; init; }

    /// <summary>Their attack spec (experiment "run"), e.g. "alie".</summary>
    public string? Attack { get; init; }

    /// <summary>Device row of the coordinator, which evaluates after each round.</summary>
    public string CoordinatorDevice { get; init; } = "cpu";

    /// <summary>What to run.</summary>
    public FaithfulExperiment Experiment { get; init; } = FaithfulExperiment.Run;

    /// <summary>moe-vs-dense: H values; rounds scale as 1/H so every run trains the same tokens.</summary>
    public List<int> InnerStepsSweep { get; init; } = [];

    /// <summary>moe-vs-dense: quorum fractions; with stragglers, updates arriving after the close are rejected as stale.</summary>
    public List<double> QuorumSweep { get; init; } = [];

    /// <summary>attack-matrix: attack specs.</summary>
    public List<string> Attacks { get; init; } = [];

    /// <summary>attack-matrix: aggregation specs applied to trunk and experts; "{f}" becomes the largest Byzantine count of the matrix.</summary>
    public List<string> Aggregators { get; init; } = [];

    /// <summary>attack-matrix: Byzantine fractions (0 is always run as the reference).</summary>
    public List<double> ByzantineFractions { get; init; } = [];

    /// <summary>
    /// attack-matrix: job order. <c>false</c> (default): rule by rule (a rule's reference, then every attack on it).
    /// <c>true</c>: every rule's reference first, then attack by attack across all rules, so a run cut short by --max-minutes
    /// still holds every rule under the attacks listed first. Reports group cells in job order either way.
    /// </summary>
    public bool AttackMajor { get; init; }

    /// <summary>
    /// attack-matrix: aggregators (as written in <see cref="Aggregators"/>) whose unattacked reference runs are not run here, because
    /// an earlier run of the same settings holds them (its runs.csv is merged with this one's by scripts/attack-matrix-report.py);
    /// this run's own report then says "no reference" for their cells.
    /// </summary>
    public List<string> SkipReferences { get; init; } = [];

    /// <summary>
    /// verification: spot-check probabilities; each is a run per attack (<see cref="Attacks"/>, else <see cref="Attack"/>) with
    /// <see cref="ByzantineFraction"/> cheaters and both rates (established keys and keys on probation) set to it.
    /// </summary>
    public List<double> SpotCheckSweep { get; init; } = [];
}
