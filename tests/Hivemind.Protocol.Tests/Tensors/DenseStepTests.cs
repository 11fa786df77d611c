using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Tensors;

/// <summary>Dense lossy codecs (int8, fp16) as step downloads and int8 updates with error feedback (issue 16, session 6).</summary>
public sealed class DenseStepTests
{
    private const long Limit = 1 << 22;

    [Theory]
    [InlineData(PayloadCodec.Int8Block)]
    [InlineData(PayloadCodec.Fp16)]
    public void DenseStepsAppliedOnBothSidesGiveBitIdenticalParameters(PayloadCodec codec)
    {
        var coordinator = TensorFixtures.Mixed(11);
        var volunteer = coordinator.Clone();
        var random = new Random(12);
        var steps = new List<byte[]>();
        for (int v = 0; v < 12; v++)
        {
            var update = new ParameterSet(coordinator.Select(t => TensorFixtures.Tensor(random, t.Name, t.Shape, 0.01f)));
            byte[] step = TensorCodec.Encode(update, codec);
            ParameterSteps.Apply(coordinator, TensorCodec.Decode(step, Limit).Tensors);
            steps.Add(step);
        }
        ParameterSteps.ApplyAll(volunteer, [.. steps.SelectMany(s => s)], steps.Count, Limit);
        Assert.Equal(Hash(coordinator), Hash(volunteer));
    }

    [Fact]
    public void AnFp32StepIsRefusedAndChangesNothing()
    {
        var held = TensorFixtures.Mixed(13);
        byte[] before = Hash(held);
        byte[] fp32 = TensorCodec.Encode(TensorFixtures.Mixed(14), PayloadCodec.Fp32);
        var e = Assert.Throws<InvalidDataException>(() => ParameterSteps.ApplyAll(held, fp32, 1, Limit));
        Assert.Contains("Fp32", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Hash(held));
    }

    [Fact]
    public void Int8ErrorFeedbackSendsEverythingEventually()
    {
        // Sent plus owed equals given: int8's rounding is delayed, not lost, and the residual stays within one rounding step per value.
        var feedback = new ErrorFeedback();
        var random = new Random(15);
        var given = new double[1000];
        var sent = new double[1000];
        for (int round = 0; round < 20; round++)
        {
            var u = TensorFixtures.Tensor(random, "w", [1000], 0.01f);
            for (int i = 0; i < 1000; i++) given[i] += u.Values[i];
            var decoded = TensorCodec.Decode(feedback.Encode(new ParameterSet([u]), PayloadCodec.Int8Block), Limit).Tensors["w"].Values;
            for (int i = 0; i < 1000; i++) sent[i] += decoded[i];
        }
        var owed = ErrorFeedback.Load(feedback.Save(), Limit);
        double residualSq = owed.SquaredNorm;
        double gap = given.Zip(sent, (g, s) => (g - s) * (g - s)).Sum();
        Assert.True(residualSq > 0, "int8 rounds, so something is owed");
        Assert.Equal(residualSq, gap, residualSq * 1e-3 + 1e-12);
    }

    [Theory]
    [InlineData(PayloadCodec.TopK4, true)]
    [InlineData(PayloadCodec.TopK2, true)]
    [InlineData(PayloadCodec.Int8Block, false)]
    [InlineData(PayloadCodec.Fp16, false)]
    [InlineData(PayloadCodec.Fp32, false)]
    public void FeedbackIsKeptForTopKOnly(PayloadCodec codec, bool expected)
    {
        var settings = CodecSettings.IsSparse(codec) ? new CodecSettings(codec, 5) : new CodecSettings(codec);
        Assert.Equal(expected, settings.UsesFeedback);
        Assert.Equal(codec != PayloadCodec.Fp32, CodecSettings.IsStepCodec(codec));
    }

    private static byte[] Hash(ParameterSet parameters) =>
        System.Security.Cryptography.SHA256.HashData(TensorCodec.Encode(parameters, PayloadCodec.Fp32));
}
