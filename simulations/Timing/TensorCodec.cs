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

    /// <summary>Top-k of each block of 256 with 4-bit codes and one fp16 scale (issue 16); up: the update, down: steps since the held version.</summary>
    Topk4,

    /// <summary>As <see cref="Topk4"/> with 2-bit codes.</summary>
    Topk2,
}
