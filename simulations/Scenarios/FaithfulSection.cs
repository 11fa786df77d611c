namespace Hivemind.Simulations.Scenarios;

/// <summary>"faithful": the real engine's settings and the experiment to run; only read when mode is "faithful".</summary>
public sealed record FaithfulSection
{
    /// <summary>Model preset of the real engine: tiny or small.</summary>
    public string Preset { get; init; } = "tiny";

    /// <summary>Sequences per inner step (training.tokensPerStep is ignored: a step trains batchSize × sequenceLength tokens).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>Tokens per sequence.</summary>
    public int SequenceLength { get; init; } = 32;

    /// <summary>Inner AdamW learning rate.</summary>
    public double InnerLearningRate { get; init; } = 3e-3;

    /// <summary>Inner warm-up steps.</summary>
    public int WarmupSteps { get; init; } = 5;

    /// <summary>DiLoCo outer learning rate.</summary>
    public double OuterLearningRate { get; init; } = 0.7;

    /// <summary>DiLoCo outer momentum.</summary>
    public double OuterMomentum { get; init; } = 0.9;

    /// <summary>Trunk aggregation spec; "{f}" becomes the defended Byzantine count.</summary>
    public string TrunkRule { get; init; } = "mean";

    /// <summary>Expert aggregation spec; "{f}" as for the trunk.</summary>
    public string ExpertRule { get; init; } = "mean";

    /// <summary>Experts per layer a volunteer holds (its declared memory fits exactly this many); absent: all.</summary>
    public int? ExpertsPerLayer { get; init; }

    /// <summary>Held-out batches after each round.</summary>
    public int EvalBatches { get; init; } = 4;

    /// <summary>Lease length in minutes; absent: round.deadlineMinutes.</summary>
    public double? LeaseMinutes { get; init; }

    /// <summary>
    /// The engine's bounded staleness for every run: an update trained from version v is accepted into the current round while
    /// the round is at most v + this. 0 (default): synchronous, an update arriving after its round closed is rejected as stale-round.
    /// </summary>
    public int MaxStaleness { get; init; }

    /// <summary>
    /// The engine's spare leases for every run: units leased beyond the quorum, so a round closes on the fastest quorum and the
    /// slowest units arrive late. 0 (default): only quorum units are leased, so no update can arrive after its round closed.
    /// </summary>
    public int SpareLeases { get; init; }

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
}
