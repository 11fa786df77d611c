using System.Buffers.Binary;
using System.Numerics.Tensors;

namespace Hivemind.Protocol.Tensors;

/// <summary>
/// The top-k low-bit codecs (<see cref="PayloadCodec.TopK4"/>, <see cref="PayloadCodec.TopK2"/>): each block of
/// <see cref="BlockSize"/> values keeps its k largest magnitudes as (u8 position, fp16 scale shared by the block, b-bit code).
/// Fixed k per block makes the size a function of the shape alone, so the coordinator checks a payload's exact length before reading it.
/// </summary>
/// <remarks>
/// Block layout: k_b × u8 position (strictly increasing, &lt; block length) | f16 scale | ⌈k_b·b/8⌉ bytes of b-bit codes, LSB first.
/// A tensor's last block of n_b &lt; 256 values keeps k_b = min(n_b, ⌈k·n_b/256⌉). Value = (code − h) × scale with h = (2^b − 1)/2
/// (mid-rise levels ±0.5, ±1.5, … × scale, no zero level: kept values are the large ones); scale = fp16(max|x_kept| / h),
/// code = clamp(round-half-to-even(x × (1/scale) + h), 0, 2^b − 1) in float32 with the fp16-rounded scale. Unkept values decode as zero.
/// </remarks>
public static class SparseBlockCodec
{
    /// <summary>Values per block: a u8 position addresses any of them.</summary>
    public const int BlockSize = 256;

    /// <summary>Most values a block may keep (25%): beyond it a dense codec is smaller.</summary>
    public const int MaxKeptPerBlock = 64;

    private const int ScaleBytes = 2;

    /// <summary>Values kept in a block of <paramref name="blockLength"/> values (a tensor's last block may be short).</summary>
    public static int KeptIn(int blockLength, int keptPerBlock) =>
        Math.Min(blockLength, (keptPerBlock * blockLength + BlockSize - 1) / BlockSize);

    /// <summary>Bytes of one block keeping <paramref name="kept"/> values at <paramref name="bits"/> bits.</summary>
    public static int BlockBytes(int kept, int bits) => kept + ScaleBytes + (kept * bits + 7) / 8;

    /// <summary>Bytes of data for a tensor of <paramref name="count"/> values: the same for every payload of that shape and k.</summary>
    public static long DataBytes(long count, int keptPerBlock, int bits)
    {
        long full = count / BlockSize;
        int rest = (int)(count % BlockSize);
        long bytes = checked(full * BlockBytes(keptPerBlock, bits));
        return rest == 0 ? bytes : bytes + BlockBytes(KeptIn(rest, keptPerBlock), bits);
    }

    /// <summary>Encodes <paramref name="values"/> (a whole number of blocks, or a tensor's tail) into <paramref name="destination"/>.</summary>
    internal static void Encode(ReadOnlySpan<float> values, int keptPerBlock, int bits, Span<byte> destination)
    {
        Span<int> positions = stackalloc int[MaxKeptPerBlock];
        Span<float> magnitudes = stackalloc float[MaxKeptPerBlock];
        float half = ((1 << bits) - 1) / 2f;
        int maxCode = (1 << bits) - 1;
        int offset = 0;
        for (int start = 0; start < values.Length; start += BlockSize)
        {
            var block = values.Slice(start, Math.Min(BlockSize, values.Length - start));
            int kept = KeptIn(block.Length, keptPerBlock);
            var output = destination.Slice(offset, BlockBytes(kept, bits));
            offset += output.Length;
            var codes = output[(kept + ScaleBytes)..];
            codes.Clear();
            float maxAbs = MathF.Abs(TensorPrimitives.MaxMagnitude(block));
            if (!float.IsFinite(maxAbs))
            {
                // NaN or Inf stays in the scale, where receivers reject it; the positions only need to be well formed.
                for (int j = 0; j < kept; j++) output[j] = (byte)j;
                BinaryPrimitives.WriteHalfLittleEndian(output[kept..], (Half)maxAbs);
                continue;
            }
            var chosen = positions[..kept];
            SelectLargest(block, magnitudes[..kept], chosen);
            chosen.Sort();
            for (int j = 0; j < kept; j++) output[j] = (byte)chosen[j];
            Half scale16 = (Half)Math.Min(maxAbs / half, (float)Half.MaxValue);
            BinaryPrimitives.WriteHalfLittleEndian(output[kept..], scale16);
            float scale = (float)scale16;
            if (!(scale > 0)) continue; // zero (or tiny) block: every code decodes to 0 × scale
            float inverse = 1f / scale;
            for (int j = 0; j < kept; j++)
            {
                int code = Math.Clamp((int)MathF.Round(block[chosen[j]] * inverse + half), 0, maxCode);
                int bit = j * bits;
                codes[bit >> 3] |= (byte)(code << (bit & 7));
            }
        }
    }

    /// <summary>
    /// The positions of the k largest |x|, first index on ties, in one pass: a short list sorted by magnitude (descending) that a value
    /// enters only when strictly larger than its last entry; for k ≪ 256 almost every value costs one comparison.
    /// </summary>
    private static void SelectLargest(ReadOnlySpan<float> block, Span<float> magnitudes, Span<int> positions)
    {
        int k = positions.Length;
        for (int j = 0; j < k; j++)
        {
            magnitudes[j] = -1f;
            positions[j] = -1;
        }
        float floor = -1f;
        for (int i = 0; i < block.Length; i++)
        {
            float m = MathF.Abs(block[i]);
            if (m <= floor) continue;
            int at = k - 1;
            while (at > 0 && magnitudes[at - 1] < m)
            {
                magnitudes[at] = magnitudes[at - 1];
                positions[at] = positions[at - 1];
                at--;
            }
            magnitudes[at] = m;
            positions[at] = i;
            floor = magnitudes[k - 1];
        }
    }

    /// <summary>Decodes blocks into <paramref name="values"/> (zero where nothing was kept).</summary>
    /// <returns>Null, or what is wrong and in which block (relative to this slice).</returns>
    internal static (int Block, PayloadError Error, string Problem)? Decode(ReadOnlySpan<byte> source, Span<float> values, int keptPerBlock, int bits)
    {
        values.Clear();
        float half = ((1 << bits) - 1) / 2f;
        int mask = (1 << bits) - 1;
        int offset = 0;
        for (int start = 0, b = 0; start < values.Length; start += BlockSize, b++)
        {
            var block = values.Slice(start, Math.Min(BlockSize, values.Length - start));
            int kept = KeptIn(block.Length, keptPerBlock);
            var input = source.Slice(offset, BlockBytes(kept, bits));
            offset += input.Length;
            float scale = (float)BinaryPrimitives.ReadHalfLittleEndian(input[kept..]);
            if (!float.IsFinite(scale) || scale < 0)
                return (b, PayloadError.NonFiniteScale, $"has scale {scale}; scales must be finite and non-negative (the sender's values were NaN or infinite)");
            int previous = -1;
            var codes = input[(kept + ScaleBytes)..];
            for (int j = 0; j < kept; j++)
            {
                int position = input[j];
                if (position >= block.Length)
                    return (b, PayloadError.BadIndex, $"keeps position {position}, outside its {block.Length} values");
                if (position <= previous)
                    return (b, PayloadError.BadIndex, $"lists position {position} after {previous}; positions must be strictly increasing (sorted, no duplicates)");
                previous = position;
                int bit = j * bits;
                int code = (codes[bit >> 3] >> (bit & 7)) & mask;
                block[position] = (code - half) * scale;
            }
            // Unused high bits of the last code byte must be zero: one canonical encoding per value, so equal updates hash equal.
            int used = kept * bits & 7;
            if (used != 0 && codes[^1] >> used != 0)
                return (b, PayloadError.BadIndex, "has non-zero padding bits after its last code");
        }
        return null;
    }
}
