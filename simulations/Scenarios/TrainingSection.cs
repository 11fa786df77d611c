using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scenarios;

/// <summary>"training": what one work unit costs a volunteer.</summary>
public sealed record TrainingSection
{
    /// <summary>Inner steps per work unit (DiLoCo's H).</summary>
    public int InnerSteps { get; init; } = 100;

    /// <summary>Tokens one volunteer trains per inner step.</summary>
    public int TokensPerStep { get; init; } = 16_384;

    /// <summary>Arithmetic the volunteers train in.</summary>
    public Precision Precision { get; init; } = Precision.Bf16;

    /// <summary>Experts per MoE layer a shard holds besides the trunk.</summary>
    public int ExpertsPerShard { get; init; } = 2;

    /// <summary>Volunteers that must hold each expert (q).</summary>
    public int Replication { get; init; } = 2;

    /// <summary>Device bytes per shard parameter while training: fp32 weights, gradients and two AdamW moments (16, as in ZeRO, Rajbhandari et al. 2020).</summary>
    public double BytesPerParameter { get; init; } = 16;
}
