namespace Hivemind.Protocol.Tensors;

/// <summary>How tensor values are encoded in a payload; numbers equal the proto's <c>Codec</c> enum values.</summary>
public enum PayloadCodec : byte
{
    /// <summary>IEEE float32, little-endian, exact.</summary>
    Fp32 = 1,
    /// <summary>IEEE float16, little-endian: half the bytes, ~3 significant digits.</summary>
    Fp16 = 2,
    /// <summary>int8 with one float32 scale per block of <see cref="TensorCodec.Int8BlockSize"/> values: a quarter of the bytes.</summary>
    Int8Block = 3,
    /// <summary>
    /// Sparse: the k largest magnitudes of each block of <see cref="SparseBlockCodec.BlockSize"/> values (u8 positions), 4-bit codes and
    /// one fp16 scale per block; k travels in the payload header (<see cref="CodecSettings.KeptPerBlock"/>).
    /// </summary>
    TopK4 = 10,
    /// <summary>As <see cref="TopK4"/> with 2-bit codes.</summary>
    TopK2 = 11,
}
