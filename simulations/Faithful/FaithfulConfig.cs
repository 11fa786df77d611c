using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Faithful;

/// <summary>Everything one faithful run needs: the real coordinator's options plus the virtual world around it.</summary>
public sealed record FaithfulConfig
{
    /// <summary>Model preset of the real engine (tiny, small).</summary>
    public required string Preset { get; init; }

    /// <summary>Seed of θ_0, the corpus, the planner and every virtual draw.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Volunteer slots.</summary>
    public required int Volunteers { get; init; }

    /// <summary>Rounds the engine runs (its MaxRounds).</summary>
    public required int Rounds { get; init; }

    /// <summary>Accepted updates that close a round (the engine's quorum, a count).</summary>
    public required int Quorum { get; init; }

    /// <summary>
    /// The engine's bounded staleness: an update trained from version v is accepted into the current round while the round
    /// is at most v + this; 0 is synchronous (an update arriving after its round closed is rejected as stale-round).
    /// </summary>
    public int MaxStaleness { get; init; }

    /// <summary>The engine's spare leases: units leased beyond the quorum, so a round can close before its slowest unit arrives.</summary>
    public int SpareLeases { get; init; }

    /// <summary>Inner steps per work unit (H).</summary>
    public required int InnerSteps { get; init; }

    /// <summary>Sequences per inner step.</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>Tokens per sequence.</summary>
    public int SequenceLength { get; init; } = 32;

    /// <summary>AdamW learning rate of the inner loop.</summary>
    public double InnerLearningRate { get; init; } = 3e-3;

    /// <summary>Linear warm-up steps of the inner loop.</summary>
    public int WarmupSteps { get; init; } = 5;

    /// <summary>DiLoCo outer learning rate.</summary>
    public double OuterLearningRate { get; init; } = 0.7;

    /// <summary>DiLoCo outer Nesterov momentum.</summary>
    public double OuterMomentum { get; init; } = 0.9;

    /// <summary>Aggregation spec for the trunk ("{f}" already replaced).</summary>
    public string TrunkRule { get; init; } = "mean";

    /// <summary>Aggregation spec for each expert.</summary>
    public string ExpertRule { get; init; } = "mean";

    /// <summary>Upload codec name of the engine (fp32, fp16, int8).</summary>
    public string Codec { get; init; } = "fp16";

    /// <summary>Experts per layer each volunteer holds; null: every expert (the whole model).</summary>
    public int? ExpertsPerLayer { get; init; }

    /// <summary>Held-out batches evaluated after each round.</summary>
    public int EvalBatches { get; init; } = 4;

    /// <summary>Seconds from round open to the engine's deadline.</summary>
    public required double DeadlineSeconds { get; init; }

    /// <summary>Seconds a lease lasts before the engine reissues the unit.</summary>
    public required double LeaseSeconds { get; init; }

    /// <summary>Volunteer devices and their weights.</summary>
    public required IReadOnlyList<(DeviceSpec Device, double Weight)> DeviceMix { get; init; }

    /// <summary>Which peak column the volunteers train at.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>Download Mb/s per volunteer.</summary>
    public required Distribution DownloadMbps { get; init; }

    /// <summary>Upload Mb/s per volunteer.</summary>
    public required Distribution UploadMbps { get; init; }

    /// <summary>Latency per transfer, ms.</summary>
    public required Distribution LatencyMs { get; init; }

    /// <summary>Session length in hours; null: nobody leaves.</summary>
    public Distribution? SessionHours { get; init; }

    /// <summary>Gap before a slot is taken again, hours.</summary>
    public Distribution OfflineHours { get; init; } = Distribution.Exponential(1);

    /// <summary>Fraction of volunteers that straggle.</summary>
    public double StragglerFraction { get; init; }

    /// <summary>Compute slowdown of a straggler.</summary>
    public double StragglerSlowdown { get; init; } = 1;

    /// <summary>Coordinator link, shared equally by the quorum's transfers.</summary>
    public double CoordinatorMbps { get; init; } = double.PositiveInfinity;

    /// <summary>Cores the coordinator aggregates on.</summary>
    public int AggregationCores { get; init; } = 1;

    /// <summary>Device that evaluates the model after each round (the coordinator's).</summary>
    public required DeviceSpec CoordinatorDevice { get; init; }

    /// <summary>Fraction of slots held by Byzantine volunteers.</summary>
    public double ByzantineFraction { get; init; }

    /// <summary>Attack spec the Byzantine volunteers craft (Hivemind.Aggregation.AttackFactory); null: none.</summary>
    public string? Attack { get; init; }

    /// <summary>Tokens one work unit trains.</summary>
    public long TokensPerUnit => (long)InnerSteps * BatchSize * SequenceLength;

    /// <summary>Byzantine slots: round(fraction × volunteers), the last slots (slot order carries no meaning).</summary>
    public int ByzantineSlots => Attack is null ? 0 : (int)Math.Round(ByzantineFraction * Volunteers, MidpointRounding.AwayFromZero);
}
