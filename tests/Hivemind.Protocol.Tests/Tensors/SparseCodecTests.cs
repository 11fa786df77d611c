using System.Buffers.Binary;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Tensors;

/// <summary>The top-k low-bit codecs: what they keep, their exact sizes, hostile payloads, error feedback and steps.</summary>
public sealed class SparseCodecTests
{
    private const long Limit = 1 << 22;

    public static TheoryData<PayloadCodec, int> Settings() => new()
    {
        { PayloadCodec.TopK4, 5 },
        { PayloadCodec.TopK2, 5 },
        { PayloadCodec.TopK4, 1 },
        { PayloadCodec.TopK2, 64 },
        { PayloadCodec.TopK4, 3 },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void KeepsTheLargestMagnitudesOfEachBlockWithinHalfAStep(PayloadCodec codec, int k)
    {
        var settings = new CodecSettings(codec, k);
        var tensors = TensorFixtures.Mixed();
        var back = TensorCodec.Decode(TensorCodec.Encode(tensors, settings), Limit);
        Assert.Equal(codec, back.Codec);
        Assert.Equal(k, back.Header.KeptPerBlock);
        float half = ((1 << settings.Bits) - 1) / 2f;
        foreach (var t in tensors)
        {
            var decoded = back.Tensors[t.Name].Values;
            for (int start = 0; start < t.Values.Length; start += SparseBlockCodec.BlockSize)
            {
                int length = Math.Min(SparseBlockCodec.BlockSize, t.Values.Length - start);
                int kept = SparseBlockCodec.KeptIn(length, k);
                var block = t.Values.AsSpan(start, length).ToArray();
                var expected = Enumerable.Range(0, length).OrderByDescending(i => MathF.Abs(block[i])).ThenBy(i => i).Take(kept).ToHashSet();
                float scale = (float)(Half)(block.Max(MathF.Abs) / half);
                for (int i = 0; i < length; i++)
                {
                    float d = decoded[start + i];
                    if (!expected.Contains(i))
                    {
                        Assert.Equal(0f, d);
                        continue;
                    }
                    // Half a step, plus the fp16 rounding of the scale carried over all levels.
                    Assert.True(MathF.Abs(d - block[i]) <= scale / 2 + scale * half * 1e-3f, $"{t.Name}[{start + i}]: {block[i]} → {d}, scale {scale}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void SizeIsExactAndDependsOnlyOnShapeAndSettings(PayloadCodec codec, int k)
    {
        var settings = new CodecSettings(codec, k);
        foreach (long[] shape in new[] { new long[] { 0 }, [1], [255], [256], [257], [3, 7, 37], [64, 1024] })
        {
            var a = TensorFixtures.Tensor(new Random(1), "a", shape, 1f);
            var zeros = new NamedTensor("a", shape, new float[a.Values.Length]);
            long expected = TensorCodec.EncodedLength([("a", shape)], settings);
            Assert.Equal(expected, TensorCodec.Encode([a], settings).LongLength);
            Assert.Equal(expected, TensorCodec.Encode([zeros], settings).LongLength);
        }
        // 256 values keeping k: k positions, a 2-byte scale, ⌈k·b/8⌉ code bytes.
        Assert.Equal(k + 2 + (k * settings.Bits + 7) / 8, TensorCodec.DataBytes(256, settings));
    }

    [Fact]
    public void BytesMatchTheDocumentedLayout()
    {
        // A Python volunteer reimplements the layout from the .proto; this checks the encoder against it on one short block.
        var values = new float[] { 0.1f, -2f, 0.3f, 1f, -0.05f, 0.5f, 0f, 0.7f, -1.5f, 0.2f };
        var settings = new CodecSettings(PayloadCodec.TopK2, 64); // k_b = min(10, ⌈64·10/256⌉) = 3
        byte[] payload = TensorCodec.Encode([new NamedTensor("t", [10], values)], settings);
        int data = 12 + 2 + 1 + 1 + 8;
        Assert.Equal(64, BinaryPrimitives.ReadUInt16LittleEndian(payload.AsSpan(6)));
        Assert.Equal(new byte[] { 1, 3, 8 }, payload.AsSpan(data, 3).ToArray()); // |−2|, |1|, |−1.5| in position order
        float scale = (float)BinaryPrimitives.ReadHalfLittleEndian(payload.AsSpan(data + 3));
        Assert.Equal((float)(Half)(2f / 1.5f), scale);
        int Code(float x) => Math.Clamp((int)MathF.Round(x * (1f / scale) + 1.5f), 0, 3);
        byte codes = payload[data + 5];
        Assert.Equal(Code(-2f) | Code(1f) << 2 | Code(-1.5f) << 4, codes);
        Assert.Equal(data + 6, payload.Length);
    }

    [Fact]
    public void NaNInAKeptValueBecomesARejectedScale()
    {
        var t = TensorFixtures.Tensor(new Random(2), "t", [512], 1f);
        t.Values[300] = float.NaN;
        var e = Assert.Throws<PayloadFormatException>(() => TensorCodec.Decode(TensorCodec.Encode([t], new CodecSettings(PayloadCodec.TopK4, 5)), Limit));
        Assert.Equal(PayloadError.NonFiniteScale, e.Error);
        Assert.Contains("block 1", e.Message);
    }

    // One tensor of 300 values (a full block and a 44-value tail), k = 5: block 0 = 5 positions, scale, 3 code bytes;
    // block 1 keeps ⌈5·44/256⌉ = 1 value: 1 position, scale, 1 code byte.
    private static byte[] Valid(out int data)
    {
        var t = TensorFixtures.Tensor(new Random(3), "t", [300], 1f);
        data = 12 + 2 + 1 + 1 + 8;
        return TensorCodec.Encode([t], new CodecSettings(PayloadCodec.TopK4, 5));
    }

    private static PayloadFormatException Fails(byte[] payload) =>
        Assert.Throws<PayloadFormatException>(() => TensorCodec.Decode(payload, Limit));

    [Fact]
    public void RejectsAPositionOutsideTheBlock()
    {
        byte[] p = Valid(out int data);
        p[data + 10] = 44; // the tail block has 44 values: 0..43
        var e = Fails(p);
        Assert.Equal(PayloadError.BadIndex, e.Error);
        Assert.Contains("position 44", e.Message);
    }

    [Fact]
    public void RejectsUnsortedPositions()
    {
        byte[] p = Valid(out int data);
        (p[data], p[data + 1]) = (p[data + 1], p[data]);
        var e = Fails(p);
        Assert.Equal(PayloadError.BadIndex, e.Error);
        Assert.Contains("strictly increasing", e.Message);
    }

    [Fact]
    public void RejectsDuplicatePositions()
    {
        byte[] p = Valid(out int data);
        p[data + 1] = p[data];
        Assert.Equal(PayloadError.BadIndex, Fails(p).Error);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(-1f)]
    public void RejectsABadScale(float scale)
    {
        byte[] p = Valid(out int data);
        BinaryPrimitives.WriteHalfLittleEndian(p.AsSpan(data + 5), (Half)scale);
        var e = Fails(p);
        Assert.Equal(PayloadError.NonFiniteScale, e.Error);
        Assert.Equal(Hivemind.Protocol.Errors.RejectReason.NonFinite, e.Reason);
    }

    [Fact]
    public void RejectsNonZeroPaddingBits()
    {
        byte[] p = Valid(out int data);
        p[data + 9] |= 0x80; // 5 codes × 4 bits use 20 of block 0's 24 code bits
        Assert.Equal(PayloadError.BadIndex, Fails(p).Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void RejectsAKeptCountOutOfRange(int k)
    {
        byte[] p = Valid(out _);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(6), (ushort)k);
        Assert.Equal(PayloadError.BadCodecParameter, Fails(p).Error);
    }

    [Fact]
    public void ADifferentKeptCountChangesTheSizeSoTheExactLengthCheckCatchesIt()
    {
        byte[] p = Valid(out _);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(6), 6);
        Assert.Equal(PayloadError.Truncated, Fails(p).Error);
        Assert.NotEqual(TensorCodec.EncodedLength([("t", new long[] { 300 })], new CodecSettings(PayloadCodec.TopK4, 6)), p.LongLength);
    }

    [Fact]
    public void SettingsRefuseOutOfRangeParameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CodecSettings(PayloadCodec.TopK4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CodecSettings(PayloadCodec.Fp16, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => CodecSettings.FromDensity(PayloadCodec.TopK2, 0.5));
        Assert.Equal(5, CodecSettings.FromDensity(PayloadCodec.TopK2, 0.02).KeptPerBlock);
    }

    [Fact]
    public void ErrorFeedbackSendsEverythingEventually()
    {
        // What is sent plus what is still owed equals what was given, so no update is lost, only delayed.
        var feedback = new ErrorFeedback();
        var settings = new CodecSettings(PayloadCodec.TopK2, 3);
        var random = new Random(4);
        var given = new double[1000];
        var sent = new double[1000];
        for (int round = 0; round < 30; round++)
        {
            var u = TensorFixtures.Tensor(random, "w", [1000], 0.01f);
            for (int i = 0; i < 1000; i++) given[i] += u.Values[i];
            var decoded = TensorCodec.Decode(feedback.Encode(new ParameterSet([u]), settings), Limit).Tensors["w"].Values;
            for (int i = 0; i < 1000; i++) sent[i] += decoded[i];
        }
        var owed = ErrorFeedback.Load(feedback.Save(), Limit);
        Assert.Equal(1, owed.Count);
        double residualSq = owed.SquaredNorm;
        double gap = given.Zip(sent, (g, s) => (g - s) * (g - s)).Sum();
        Assert.Equal(residualSq, gap, residualSq * 1e-3 + 1e-12);
        // And the residual stays bounded: far below the mass given (30 rounds of ‖u‖² ≈ 0.033 each).
        Assert.True(residualSq < 0.5, $"residual ‖r‖² = {residualSq}");
    }

    [Fact]
    public void ASubsetDecodesToExactlyTheWholePayloadsValues()
    {
        var settings = new CodecSettings(PayloadCodec.TopK4, 5);
        byte[] whole = TensorCodec.Encode(TensorFixtures.Mixed(), settings);
        byte[] part = TensorCodec.Subset(whole, n => n.StartsWith("blocks.", StringComparison.Ordinal), Limit);
        var a = TensorCodec.Decode(whole, Limit).Tensors;
        var b = TensorCodec.Decode(part, Limit).Tensors;
        Assert.Equal(["blocks.0.attn.wq", "blocks.0.moe.experts.3.w1", "blocks.0.norm.weight"], b.Names);
        foreach (var t in b) Assert.Equal(a[t.Name].Values, t.Values);
    }

    [Fact]
    public void StepsAppliedOnBothSidesGiveBitIdenticalParameters()
    {
        // The coordinator's side: θ_{v+1} = θ_v + decode(step_v), with the step encoded (with feedback) from an arbitrary float update.
        var settings = new CodecSettings(PayloadCodec.TopK4, 5);
        var coordinator = TensorFixtures.Mixed(7);
        var volunteer = coordinator.Clone();
        var feedback = new ErrorFeedback();
        var random = new Random(8);
        var steps = new List<byte[]>();
        for (int v = 0; v < 40; v++)
        {
            var update = new ParameterSet(coordinator.Select(t => TensorFixtures.Tensor(random, t.Name, t.Shape, 0.01f)));
            byte[] step = feedback.Encode(update, settings);
            ParameterSteps.Apply(coordinator, TensorCodec.Decode(step, Limit).Tensors);
            steps.Add(step);
        }
        // The volunteer fetches all 40 steps as one download and applies them.
        ParameterSteps.ApplyAll(volunteer, steps.SelectMany(s => s).ToArray(), steps.Count, Limit);
        Assert.Equal(Hash(coordinator), Hash(volunteer));
    }

    [Fact]
    public void ABadStepInADownloadChangesNothing()
    {
        var settings = new CodecSettings(PayloadCodec.TopK4, 5);
        var held = TensorFixtures.Mixed(9);
        byte[] before = Hash(held);
        byte[] good = TensorCodec.Encode(TensorFixtures.Mixed(10), settings);
        byte[] foreign = TensorCodec.Encode([TensorFixtures.Tensor(new Random(1), "not.held", [10], 1f)], settings);
        Assert.Throws<InvalidDataException>(() => ParameterSteps.ApplyAll(held, [.. good, .. foreign], 2, Limit));
        Assert.Throws<PayloadFormatException>(() => ParameterSteps.ApplyAll(held, [.. good, 0], 1, Limit));
        Assert.Throws<InvalidDataException>(() => ParameterSteps.ApplyAll(held, TensorCodec.Encode(TensorFixtures.Mixed(10), PayloadCodec.Fp32), 1, Limit));
        Assert.Equal(before, Hash(held));
    }

    private static byte[] Hash(ParameterSet parameters) =>
        System.Security.Cryptography.SHA256.HashData(TensorCodec.Encode(parameters, PayloadCodec.Fp32));
}
