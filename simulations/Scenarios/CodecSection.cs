using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scenarios;

/// <summary>"codec": how the shard travels down and the pseudo-gradient travels up.</summary>
public sealed record CodecSection
{
    /// <summary>Codec of the uploaded pseudo-gradient.</summary>
    public TensorCodec Upload { get; init; } = TensorCodec.Int8;

    /// <summary>Codec of the downloaded trunk and experts.</summary>
    public TensorCodec Download { get; init; } = TensorCodec.Fp16;

    /// <summary>Elements per int8 block; each block carries one fp32 scale.</summary>
    public int Int8BlockSize { get; init; } = 64;
}
