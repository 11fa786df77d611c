namespace Hivemind.Simulations.Timing;

/// <summary>Arithmetic a volunteer trains in, which picks the device's peak column.</summary>
public enum Precision
{
    /// <summary>Mixed precision on tensor cores (fp16/bf16 multiply, fp32 accumulate).</summary>
    Bf16,

    /// <summary>Plain fp32 on the vector units.</summary>
    Fp32,
}
