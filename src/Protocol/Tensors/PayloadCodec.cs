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
}
