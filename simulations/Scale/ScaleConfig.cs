using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scale;

/// <summary>Everything one scale run needs, resolved from a scenario (one point of its sweep).</summary>
public sealed record ScaleConfig
{
    /// <summary>Parameters and FLOPs of the model.</summary>
    public required ModelCost Model { get; init; }

    /// <summary>Inner steps per work unit (H).</summary>
    public required int InnerSteps { get; init; }

    /// <summary>Tokens per inner step per volunteer.</summary>
    public required int TokensPerStep { get; init; }

    /// <summary>Training arithmetic.</summary>
    public Precision Precision { get; init; } = Precision.Bf16;

    /// <summary>Experts per layer in a shard.</summary>
    public required int ExpertsPerShard { get; init; }

    /// <summary>Codec of the pseudo-gradient upload.</summary>
    public TensorCodec Upload { get; init; } = TensorCodec.Int8;

    /// <summary>Codec of the shard download; a top-k codec sends the steps since the volunteer's version (newcomers get fp32).</summary>
    public TensorCodec Download { get; init; } = TensorCodec.Fp32;

    /// <summary>Values kept per block by a top-k upload codec (the coordinator's --codec-density).</summary>
    public double UploadDensity { get; init; } = new Coordinator.CoordinatorOptions().CodecDensity;

    /// <summary>Density of a top-k download step (the coordinator's --download-density).</summary>
    public double DownloadDensity { get; init; } = new Coordinator.CoordinatorOptions().DownloadDensity;

    /// <summary>Steps the coordinator keeps; a volunteer further behind downloads the full fp32 shard (--max-download-steps).</summary>
    public int MaxDownloadSteps { get; init; } = new Coordinator.CoordinatorOptions().MaxDownloadSteps;


    /// <summary>Volunteer slots.</summary>
    public required int Volunteers { get; init; }

    /// <summary>Devices and their weights.</summary>
    public required IReadOnlyList<(DeviceSpec Device, double Weight)> DeviceMix { get; init; }

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

    /// <summary>Rounds to run.</summary>
    public required int Rounds { get; init; }

    /// <summary>Fraction of assigned units that closes a round.</summary>
    public double Quorum { get; init; } = 1;

    /// <summary>Seconds from open to forced close.</summary>
    public required double DeadlineSeconds { get; init; }

    /// <summary>Aggregator charged at close.</summary>
    public AggregationRule Aggregator { get; init; } = AggregationRule.Mean;

    /// <summary>Coordinator link, shared equally by a round's transfers.</summary>
    public double CoordinatorMbps { get; init; } = double.PositiveInfinity;

    /// <summary>
    /// Share of volunteer slots that are reachable relays (mapped port or public address), lending <see cref="RelayUploadShare"/>
    /// of their uplink to serve verified chunks of the current version to the others. 0: no relays.
    /// </summary>
    public double RelayFraction { get; init; }

    /// <summary>Share of a relay's uplink it lends to serving (the upload cap a relay volunteer sets).</summary>
    public double RelayUploadShare { get; init; } = 0.5;

    /// <summary>Slots 0 .. RelayCount-1 are relays; a volunteer taking such a slot later is one too, so the share stays fixed.</summary>
    public int RelayCount => (int)Math.Round(RelayFraction * Volunteers, MidpointRounding.AwayFromZero);

    /// <summary>
    /// Bytes the coordinator has for the model and the round's decoded updates; +∞ (the default): unbounded. A round closes once it
    /// holds <see cref="UpdatesInMemory"/> updates.
    /// </summary>
    public double CoordinatorMemoryBytes { get; init; } = double.PositiveInfinity;

    /// <summary>Bytes of one accepted update as the engine holds it until the round closes: the shard decoded to fp32.</summary>
    public double DecodedUpdateBytes => DecodedBytes(ShardElements);

    /// <summary>Bytes the coordinator holds whatever the round: the global model and its outer (Nesterov) momentum, both fp32.</summary>
    public double ResidentModelBytes => ResidentBytes(Model);

    /// <summary>The least memory a coordinator needs to run <paramref name="model"/> at all: the resident model and one decoded update.</summary>
    public static double MinimumMemoryBytes(ModelCost model, int expertsPerShard) => ResidentBytes(model) + DecodedBytes(model.ShardParameters(expertsPerShard));

    private static double DecodedBytes(long shardElements) => (double)shardElements * sizeof(float);

    private static double ResidentBytes(ModelCost model) => ModelCopiesResident * (double)model.TotalParameters * sizeof(float);

    /// <summary>Most decoded updates one round can hold in <see cref="CoordinatorMemoryBytes"/>; <see cref="int.MaxValue"/> when unbounded.</summary>
    public int UpdatesInMemory => double.IsPositiveInfinity(CoordinatorMemoryBytes)
        ? int.MaxValue
        : (int)Math.Clamp(Math.Floor((CoordinatorMemoryBytes - ResidentModelBytes) / DecodedUpdateBytes), 0, int.MaxValue);

    // The global parameters and the outer optimizer's momentum buffer.
    private const int ModelCopiesResident = 2;

    /// <summary>Cores the aggregation is spread over.</summary>
    public int AggregationCores { get; init; } = 1;

    /// <summary>Seed of every draw.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Tokens one work unit trains.</summary>
    public double TokensPerUnit => (double)InnerSteps * TokensPerStep;

    /// <summary>Shard parameters moved down and up per unit.</summary>
    public long ShardElements => Model.ShardParameters(ExpertsPerShard);

    /// <summary>
    /// fp32 bytes ÷ bytes sent of the full download a newcomer (or a volunteer too far behind) gets under a top-k download codec: the
    /// lossless compressed form volunteers ask for (<see cref="CodecSize.FullDownloadRatio"/>); 1 models clients that do not ask.
    /// </summary>
    public double FullDownloadCompression { get; init; } = CodecSize.FullDownloadRatio;

    /// <summary>
    /// Bytes of a full download (trunk + shard experts). Under a top-k download codec it is the fp32 shard sent compressed by
    /// <see cref="FullDownloadCompression"/>; a <see cref="TensorCodec.Fp32"/> download codec stays the uncompressed DiLoCo baseline
    /// (full fp32 down every round, the reference and every scenario recorded before compressed full downloads existed),
    /// fp16 and int8 downloads are sized as they are.
    /// </summary>
    public double DownloadBytes => CodecSize.IsSparse(Download)
        ? CodecSize.Bytes(TensorCodec.Fp32, ShardElements) / FullDownloadCompression
        : CodecSize.Bytes(Download, ShardElements);

    /// <summary>
    /// Newcomers rebuild θ_0 of their shard from the seed (WorkUnit.init_seed, <c>serve --seed-downloads</c>), so they hold version 0:
    /// nothing to download at version 0, the steps since 0 later when those are kept and fewer bytes. Modelled under a top-k download
    /// codec only, like <see cref="FullDownloadCompression"/>: an fp32 download codec stays the uncompressed DiLoCo baseline.
    /// </summary>
    public bool SeedDownloads { get; init; } = new Coordinator.CoordinatorOptions().SeedDownloads;

    /// <summary>
    /// Bytes a volunteer downloads when it holds the version <paramref name="behind"/> rounds old (null: none). With a top-k download
    /// codec that is one encoded step per version behind when all are kept (up to <see cref="MaxDownloadSteps"/>) and they are fewer
    /// bytes than the full shard (<see cref="Hivemind.Protocol.Tensors.DownloadChoice"/>, the coordinator's rule), nothing when it holds the current version;
    /// otherwise, and for newcomers, the full shard. Assumes the volunteer keeps its experts between units (the coordinator's steps cover
    /// held tensors only), the best case.
    /// </summary>
    public double DownloadBytesFor(int? behind)
    {
        if (!CodecSize.IsSparse(Download) || behind is not { } b) return DownloadBytes;
        if (b == 0) return 0;
        double? steps = b >= 1 && b <= MaxDownloadSteps ? b * CodecSize.Bytes(Download, ShardElements, DownloadDensity) : null;
        return Hivemind.Protocol.Tensors.DownloadChoice.Bytes(steps, DownloadBytes);
    }

    /// <summary>What a newcomer downloads when it joins at <paramref name="version"/>: from θ_0 rebuilt from the seed, or the full shard.</summary>
    public double NewcomerDownloadBytes(int version) => DownloadBytesFor(SeedDownloads ? version : null);

    /// <summary>Bytes uploaded per unit (the pseudo-gradient of the same pieces).</summary>
    public double UploadBytes => CodecSize.Bytes(Upload, ShardElements, UploadDensity);

    /// <summary>Seconds to aggregate <paramref name="accepted"/> updates: trunk over all, each expert over its holders.</summary>
    public double AggregationSeconds(int accepted)
    {
        int experts = Model.Shape.Experts;
        double perExpertInputs = (double)accepted * ExpertsPerShard / experts;
        return AggregationCost.Seconds(Aggregator, Model.TrunkParameters, accepted, AggregationCores)
            + AggregationCost.Seconds(Aggregator, Model.ExpertParametersAllLayers * experts, perExpertInputs, AggregationCores);
    }
}
