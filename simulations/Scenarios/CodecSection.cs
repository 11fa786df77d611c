using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scenarios;

/// <summary>"codec": how the shard travels down and the pseudo-gradient travels up.</summary>
public sealed record CodecSection
{
    /// <summary>Codec of the uploaded pseudo-gradient.</summary>
    public TensorCodec Upload { get; init; } = TensorCodec.Int8;

    /// <summary>Codec of the downloaded trunk and experts: fp32, as the coordinator sends parameters (ParameterCache); others are what-ifs.</summary>
    public TensorCodec Download { get; init; } = TensorCodec.Fp32;

    /// <summary>Top-k upload codecs: values kept per block, as <c>serve --codec-density</c> (default: the coordinator's).</summary>
    public double Density { get; init; } = new Coordinator.CoordinatorOptions().CodecDensity;

    /// <summary>Top-k download codecs (steps since the held version): density of a step, as <c>serve --download-density</c> (default: the coordinator's).</summary>
    public double DownloadDensity { get; init; } = new Coordinator.CoordinatorOptions().DownloadDensity;

    /// <summary>Newcomers rebuild θ_0 from the seed and download only the steps since (top-k download codecs), as <c>serve --seed-downloads</c> (default: the coordinator's).</summary>
    public bool SeedDownloads { get; init; } = new Coordinator.CoordinatorOptions().SeedDownloads;

    /// <summary>Removed: the block size is the real codec's (256); kept only so old scenarios get a clear error.</summary>
    public int? Int8BlockSize { get; init; }
}
