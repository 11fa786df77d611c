using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Tensors;

/// <summary>Each codec round-trips within its stated error, and lengths are exact.</summary>
public sealed class TensorCodecTests
{
    private const long Limit = 1 << 20;

    [Fact]
    public void Fp32RoundTripsBitExactIncludingNaN()
    {
        var tensors = TensorFixtures.Mixed();
        tensors["scalar"].Values[0] = float.NaN; // the codec carries values; finiteness is the verifier's check
        var back = TensorCodec.Decode(TensorCodec.Encode(tensors, PayloadCodec.Fp32), Limit);
        Assert.Equal(PayloadCodec.Fp32, back.Codec);
        Assert.Equal(tensors.Names, back.Tensors.Names);
        foreach (var t in tensors)
        {
            Assert.Equal(t.Shape, back.Tensors[t.Name].Shape);
            Assert.Equal(t.Values.Select(BitConverter.SingleToInt32Bits), back.Tensors[t.Name].Values.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Fp16RoundTripsToTheNearestHalf()
    {
        var tensors = TensorFixtures.Mixed();
        var back = TensorCodec.Decode(TensorCodec.Encode(tensors, PayloadCodec.Fp16), Limit);
        foreach (var t in tensors)
        {
            var decoded = back.Tensors[t.Name].Values;
            for (int i = 0; i < t.Values.Length; i++)
            {
                Assert.Equal((float)(Half)t.Values[i], decoded[i]);
                // Half has 11 significant bits: relative error at most 2^-11 for normal values (all fixtures are >= 2^-14 or exact zero-ish).
                float tolerance = Math.Max(MathF.Abs(t.Values[i]) * MathF.Pow(2, -11), MathF.Pow(2, -25));
                Assert.True(MathF.Abs(decoded[i] - t.Values[i]) <= tolerance, $"{t.Name}[{i}]: {t.Values[i]} → {decoded[i]}");
            }
        }
    }

    [Fact]
    public void Int8ErrorIsWithinHalfAScalePerBlock()
    {
        var tensors = TensorFixtures.Mixed();
        // A block with one huge value: its scale is large, the next block's is not affected.
        tensors["blocks.0.moe.experts.3.w1"].Values[5] = 1000f;
        var back = TensorCodec.Decode(TensorCodec.Encode(tensors, PayloadCodec.Int8Block), Limit);
        foreach (var t in tensors)
        {
            var decoded = back.Tensors[t.Name].Values;
            for (int start = 0; start < t.Values.Length; start += TensorCodec.Int8BlockSize)
            {
                int length = Math.Min(TensorCodec.Int8BlockSize, t.Values.Length - start);
                float maxAbs = t.Values.AsSpan(start, length).ToArray().Max(MathF.Abs);
                float scale = maxAbs / TensorCodec.Int8MaxLevel;
                // Half a quantisation step, plus float32 rounding in x·(127/max) and q·scale (a few ulps of the block max).
                float tolerance = scale / 2 + maxAbs * 4e-7f;
                for (int i = start; i < start + length; i++)
                    Assert.True(MathF.Abs(decoded[i] - t.Values[i]) <= tolerance, $"{t.Name}[{i}]: {t.Values[i]} → {decoded[i]}, scale {scale}");
            }
        }
        Assert.Equal(1000f, back.Tensors["blocks.0.moe.experts.3.w1"].Values[5], 0.001f);
        // The second block of that tensor keeps its own, small scale: error well below the first block's scale/2 (≈3.9).
        Assert.True(MathF.Abs(back.Tensors["blocks.0.moe.experts.3.w1"].Values[300] - tensors["blocks.0.moe.experts.3.w1"].Values[300]) < 0.01f);
    }

    [Fact]
    public void Int8BytesMatchTheScalarReferenceFormula()
    {
        // The vectorised quantiser must equal the documented formula exactly (a Python volunteer reimplements it).
        var tensor = TensorFixtures.Tensor(new Random(5), "t", [1000], 3f);
        byte[] payload = TensorCodec.Encode([tensor], PayloadCodec.Int8Block);
        int data = 12 + 2 + 1 + 1 + 8;
        for (int start = 0, offset = data; start < tensor.Values.Length; start += TensorCodec.Int8BlockSize)
        {
            var block = tensor.Values.AsSpan(start, Math.Min(TensorCodec.Int8BlockSize, tensor.Values.Length - start)).ToArray();
            float maxAbs = block.Max(MathF.Abs);
            Assert.Equal(maxAbs / TensorCodec.Int8MaxLevel, BitConverter.ToSingle(payload, offset));
            offset += 4;
            foreach (float x in block)
                Assert.Equal((sbyte)(int)MathF.Round(x * (TensorCodec.Int8MaxLevel / maxAbs)), (sbyte)payload[offset++]);
        }
        Assert.Equal(payload.Length, data + (int)TensorCodec.DataBytes(1000, PayloadCodec.Int8Block));
    }

    [Fact]
    public void Int8BlockOfZerosAndTinyValuesDecodesToZero()
    {
        var tensors = new ParameterSet([new NamedTensor("z", [2 * TensorCodec.Int8BlockSize], new float[2 * TensorCodec.Int8BlockSize])]);
        tensors["z"].Values[TensorCodec.Int8BlockSize] = 1e-35f;
        var back = TensorCodec.Decode(TensorCodec.Encode(tensors, PayloadCodec.Int8Block), Limit);
        Assert.All(back.Tensors["z"].Values, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Int8NaNIsCarriedAsNonFiniteScaleAndRejected()
    {
        var tensors = TensorFixtures.Mixed();
        tensors["blocks.0.norm.weight"].Values[260] = float.PositiveInfinity; // second block of that tensor
        byte[] payload = TensorCodec.Encode(tensors, PayloadCodec.Int8Block);
        var e = Assert.Throws<PayloadFormatException>(() => TensorCodec.Decode(payload, Limit));
        Assert.Equal(PayloadError.NonFiniteScale, e.Error);
        Assert.Equal(RejectReason.NonFinite, e.Reason);
        Assert.Contains("block 1 of tensor 'blocks.0.norm.weight'", e.Message);
    }

    [Theory]
    [InlineData(PayloadCodec.Fp32, 4.0)]
    [InlineData(PayloadCodec.Fp16, 2.0)]
    [InlineData(PayloadCodec.Int8Block, 1.015625)]
    public void EncodedLengthIsExactAndDataSizeMatchesTheCodec(PayloadCodec codec, double bytesPerValue)
    {
        var tensors = TensorFixtures.Mixed();
        byte[] payload = TensorCodec.Encode(tensors, codec);
        Assert.Equal(payload.LongLength, TensorCodec.EncodedLength(tensors, codec));
        var header = TensorCodec.Decode(payload, Limit).Header;
        Assert.Equal(payload.LongLength, header.TotalBytes);
        const int blockValues = 1 << 16;
        Assert.Equal(blockValues * bytesPerValue, TensorCodec.DataBytes(blockValues, codec));
    }

    [Fact]
    public void StreamEncodingEqualsArrayEncodingAcrossSlices()
    {
        // 70 000 values spans more than one 16 384-value slice, with a partial last slice and block.
        var tensors = new ParameterSet([TensorFixtures.Tensor(new Random(3), "big", [70_000], 2f)]);
        foreach (var c in Enum.GetValues<PayloadCodec>())
        {
            var codec = CodecSettings.IsSparse(c) ? new CodecSettings(c, 5) : c;
            using var stream = new MemoryStream();
            TensorCodec.Encode(tensors, codec, stream);
            Assert.Equal(TensorCodec.Encode(tensors, codec), stream.ToArray());
            stream.Position = 0;
            var back = TensorCodec.Decode(stream, Limit);
            Assert.Equal(70_000, back.Tensors["big"].Values.Length);
        }
    }

    [Fact]
    public void EncodeRefusesDuplicateNamesAndOverlongNames()
    {
        var a = new NamedTensor("a", [1], [1f]);
        Assert.Throws<ArgumentException>(() => TensorCodec.Encode([a, a.Clone()], PayloadCodec.Fp32));
        var longName = new NamedTensor(new string('x', 600), [1], [1f]);
        var e = Assert.Throws<ArgumentException>(() => TensorCodec.Encode([longName], PayloadCodec.Fp32));
        Assert.Contains("600", e.Message);
    }
}
