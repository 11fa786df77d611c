namespace Hivemind.Simulations.Timing;

/// <summary>How tensors travel: 32-bit floats, 16-bit floats, or 8-bit integers with a per-block scale.</summary>
public enum TensorCodec
{
    /// <summary>4 bytes per element.</summary>
    Fp32,

    /// <summary>2 bytes per element.</summary>
    Fp16,

    /// <summary>1 byte per element plus one fp32 scale per block.</summary>
    Int8,
}
