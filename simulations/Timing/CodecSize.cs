namespace Hivemind.Simulations.Timing;

/// <summary>Bytes on the wire for a number of elements under a <see cref="TensorCodec"/>.</summary>
public static class CodecSize
{
    private const int Fp32Bytes = 4;
    private const int Fp16Bytes = 2;
    private const int Int8Bytes = 1;

    // The per-block scale is one fp32.
    private const int ScaleBytes = 4;

    /// <summary>Payload bytes for <paramref name="elements"/> values; int8 adds one scale per <paramref name="int8BlockSize"/> values.</summary>
    public static double Bytes(TensorCodec codec, long elements, int int8BlockSize) => codec switch
    {
        TensorCodec.Fp32 => (double)elements * Fp32Bytes,
        TensorCodec.Fp16 => (double)elements * Fp16Bytes,
        TensorCodec.Int8 => (double)elements * Int8Bytes + Math.Ceiling((double)elements / int8BlockSize) * ScaleBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "unknown codec"),
    };
}
