using Hivemind.Simulations.Scale;
using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Tests;

/// <summary>A model small enough to count by hand, and a scale configuration around it whose round time is known.</summary>
internal static class TinyModel
{
    // L=1, d=4, E=2, k=1, h=8, V=16, T=8, tied embeddings; counted by hand in ModelCostTests.
    public static readonly ModelShape Shape = new(1, 4, 2, 1, 8, 16, 8, true);
    public const double FlopsPerToken = 1392;
    public const long ShardParameters = 224;

    // A device of 1 MFLOP/s at utilization 1, so a unit of 10 × 1000 tokens computes in 13.92 s.
    public static readonly DeviceSpec Slow = new("slow", "slow test device", 1e-6, 1e-6, 1, 1.0, "test");
    public const double ComputeSeconds = 13.92;

    // 224 fp32 parameters = 896 bytes at 0.008 Mb/s (1000 B/s) plus 100 ms latency.
    public const double TransferSeconds = 0.996;
    public const double UnitSeconds = TransferSeconds + ComputeSeconds + TransferSeconds;

    public static ScaleConfig Config(int volunteers) => new()
    {
        Model = new ModelCost(Shape),
        InnerSteps = 10,
        TokensPerStep = 1000,
        ExpertsPerShard = 1,
        Upload = TensorCodec.Fp32,
        Download = TensorCodec.Fp32,
        Volunteers = volunteers,
        DeviceMix = [(Slow, 1.0)],
        DownloadMbps = Distribution.Constant(0.008),
        UploadMbps = Distribution.Constant(0.008),
        LatencyMs = Distribution.Constant(100),
        SessionHours = null,
        Rounds = 1,
        Quorum = 1,
        DeadlineSeconds = 1000,
        Aggregator = AggregationRule.Mean,
        AggregationCores = 1,
    };
}
