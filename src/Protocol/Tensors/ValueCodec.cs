using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hivemind.Protocol.Tensors;

/// <summary>Vectorised float32 ↔ fp16 / int8-block conversion of one slice of values (a whole number of int8 blocks, except a tensor's last slice).</summary>
internal static class ValueCodec
{
    private const int ScaleBytes = 4;

    public static void EncodeFp16(ReadOnlySpan<float> values, Span<byte> destination) =>
        TensorPrimitives.ConvertToHalf(values, MemoryMarshal.Cast<byte, Half>(destination[..(values.Length * 2)]));

    public static void DecodeFp16(ReadOnlySpan<byte> source, Span<float> values) =>
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source[..(values.Length * 2)]), values);

    /// <summary>Each block: f32 scale = max|x| / 127, then round-to-even(x · 127 / max|x|) as int8. NaN or Inf in a block yields a non-finite scale, which decoders reject.</summary>
    public static void EncodeInt8(ReadOnlySpan<float> values, Span<byte> destination)
    {
        for (int start = 0; start < values.Length; start += TensorCodec.Int8BlockSize)
        {
            var block = values.Slice(start, Math.Min(TensorCodec.Int8BlockSize, values.Length - start));
            var output = destination.Slice(start / TensorCodec.Int8BlockSize * (ScaleBytes + TensorCodec.Int8BlockSize), ScaleBytes + block.Length);
            float maxAbs = MathF.Abs(TensorPrimitives.MaxMagnitude(block));
            var quantized = MemoryMarshal.Cast<byte, sbyte>(output[ScaleBytes..]);
            if (!float.IsFinite(maxAbs) || maxAbs < TensorCodec.Int8FlushBelow)
            {
                // Non-finite: keep the NaN/Inf in the scale so the receiver sees it; tiny: the block is zero.
                BinaryPrimitives.WriteSingleLittleEndian(output, float.IsFinite(maxAbs) ? 0f : maxAbs);
                quantized.Clear();
                continue;
            }
            BinaryPrimitives.WriteSingleLittleEndian(output, maxAbs / TensorCodec.Int8MaxLevel);
            Quantize(block, TensorCodec.Int8MaxLevel / maxAbs, quantized);
        }
    }

    /// <summary>round(x · inverse) into int8; |x · inverse| ≤ 127 (up to one rounding), so narrowing never overflows.</summary>
    private static void Quantize(ReadOnlySpan<float> block, float inverse, Span<sbyte> quantized)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // TensorPrimitives has no fused float→int8 rounding conversion; four separate passes over each block cost 10×.
            var factor = Vector256.Create(inverse);
            ref float x = ref MemoryMarshal.GetReference(block);
            ref sbyte q = ref MemoryMarshal.GetReference(quantized);
            for (; i <= block.Length - 32; i += 32)
            {
                var a = Vector256.ConvertToInt32(Vector256.Round(Vector256.LoadUnsafe(ref x, (nuint)i) * factor));
                var b = Vector256.ConvertToInt32(Vector256.Round(Vector256.LoadUnsafe(ref x, (nuint)(i + 8)) * factor));
                var c = Vector256.ConvertToInt32(Vector256.Round(Vector256.LoadUnsafe(ref x, (nuint)(i + 16)) * factor));
                var d = Vector256.ConvertToInt32(Vector256.Round(Vector256.LoadUnsafe(ref x, (nuint)(i + 24)) * factor));
                var bytes = Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d));
                bytes.StoreUnsafe(ref q, (nuint)i);
            }
        }
        for (; i < block.Length; i++) quantized[i] = (sbyte)(int)MathF.Round(block[i] * inverse);
    }

    /// <returns>The index of the first block whose scale is not finite and non-negative, or -1.</returns>
    public static int DecodeInt8(ReadOnlySpan<byte> source, Span<float> values)
    {
        for (int start = 0; start < values.Length; start += TensorCodec.Int8BlockSize)
        {
            var block = values.Slice(start, Math.Min(TensorCodec.Int8BlockSize, values.Length - start));
            var input = source.Slice(start / TensorCodec.Int8BlockSize * (ScaleBytes + TensorCodec.Int8BlockSize), ScaleBytes + block.Length);
            float scale = BinaryPrimitives.ReadSingleLittleEndian(input);
            if (!float.IsFinite(scale) || scale < 0f) return start / TensorCodec.Int8BlockSize;
            TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, sbyte>(input[ScaleBytes..]), block);
            TensorPrimitives.Multiply(block, scale, block);
        }
        return -1;
    }
}
