using Hivemind.Coordinator;
using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Faithful;

/// <summary>
/// Everything one faithful run needs: the real coordinator's options (<see cref="Engine"/>, the engine's own type and defaults)
/// plus the virtual world around it (volunteers, devices, links, attackers, data heterogeneity).
/// </summary>
public sealed record FaithfulConfig
{
    /// <summary>
    /// The engine's settings, exactly as the coordinator reads them; the run uses them after <see cref="VirtualTime"/>
    /// (the few settings a virtual clock cannot honour). Preset, seed, quorum, H, rules, codec, deadlines all live here.
    /// </summary>
    public required CoordinatorOptions Engine { get; init; }

    /// <summary>Volunteer slots.</summary>
    public required int Volunteers { get; init; }

    /// <summary>Experts per layer each volunteer holds; null: every expert (the whole model).</summary>
    public int? ExpertsPerLayer { get; init; }

    /// <summary>
    /// Dirichlet concentration of each volunteer's domain mix (drawn once per volunteer); null: every volunteer trains on the
    /// engine's own uniform mix (identically distributed data). Small α (0.1) gives each volunteer mostly one domain.
    /// </summary>
    public double? DomainAlpha { get; init; }

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

    /// <summary>
    /// Attack the Byzantine volunteers mount: a crafted-update spec of Hivemind.Aggregation.AttackFactory, or
    /// <see cref="LabelFlipAttack"/> (they train on flipped targets); null: none.
    /// </summary>
    public string? Attack { get; init; }

    /// <summary>
    /// Volunteers ask eagerly (issue 16): after an accepted update they take the next round's unit at once and train it from their own
    /// result, as <c>hivemind-volunteer --eager</c> does; the engine leases such units only with <c>EagerSlots</c> &gt; 0.
    /// </summary>
    public bool Eager { get; init; }

    /// <summary>
    /// Whether the Byzantine volunteers take the first slots instead of the last, so they join and ask for work before every honest
    /// volunteer: the worst case for first-come leasing, which the engine's participant draw is there to defeat.
    /// </summary>
    public bool AttackersAskFirst { get; init; }

    /// <summary>Whether <paramref name="slot"/> holds a Byzantine volunteer.</summary>
    public bool IsByzantineSlot(int slot) => AttackersAskFirst ? slot < ByzantineSlots : slot >= Volunteers - ByzantineSlots;

    /// <summary>The attack name that makes Byzantine volunteers train honestly on flipped byte targets (not an update crafter).</summary>
    public const string LabelFlipAttack = "label-flip";

    /// <summary>Seed of θ_0, the corpus, the planner and every virtual draw (the engine's seed).</summary>
    public int Seed => (int)Engine.Seed;

    /// <summary>Rounds the engine runs (its MaxRounds).</summary>
    public int Rounds => Engine.MaxRounds;

    /// <summary>Accepted updates that close a round (the engine's quorum, a count).</summary>
    public int Quorum => Engine.Quorum;

    /// <summary>Tokens one work unit trains.</summary>
    public long TokensPerUnit => (long)Engine.InnerSteps * Engine.BatchSize * Engine.SequenceLength;

    /// <summary>Byzantine slots: round(fraction × volunteers), the last slots unless <see cref="AttackersAskFirst"/>.</summary>
    public int ByzantineSlots => Attack is null ? 0 : (int)Math.Round(ByzantineFraction * Volunteers, MidpointRounding.AwayFromZero);

    /// <summary>The same run with other engine settings.</summary>
    public FaithfulConfig WithEngine(Func<CoordinatorOptions, CoordinatorOptions> change) => this with { Engine = change(Engine) };

    /// <summary>
    /// The engine options a faithful run hands to <see cref="Hivemind.Coordinator.Rounds.CoordinatorEngine"/>: <paramref name="engine"/>
    /// with only what a virtual clock cannot honour changed, each for the reason given. Everything else (median, replication 3,
    /// MinExpertHolders 3, the 4× norm bound, probation, the participant draw's window, reputation bans) is the engine's own setting.
    /// </summary>
    public static CoordinatorOptions VirtualTime(CoordinatorOptions engine, string dataDirectory) => engine with
    {
        DataDirectory = dataDirectory,
        // Joins come in bursts at virtual time 0 from one process; the rate limit protects a real host's address space.
        JoinsPerMinute = int.MaxValue,
        // Virtual volunteers do not heartbeat; a lease lives its LeaseDuration, so sessions must not expire between units.
        HeartbeatInterval = TimeSpan.FromDays(1),
        MaxLeaseDuration = engine.MaxLeaseDuration < engine.LeaseDuration ? engine.LeaseDuration : engine.MaxLeaseDuration,
        // Reports must be reproducible from the seed: the planner is seeded from it.
        DeterministicPlanning = true,
        TorchThreads = 1,
        // No calls to answer while a round closes: its aggregation may take every core (a real coordinator keeps one for its RPCs).
        CloseParallelism = Environment.ProcessorCount,
    };
}
