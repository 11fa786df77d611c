using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training.Tests;

/// <summary>The chunked cross-entropy gives the loss and gradients of libtorch's plain <c>cross_entropy</c> over full logits.</summary>
public sealed class ChunkedCrossEntropyTests
{
    private const double Tolerance = 1e-5;
    private const int Rows = 37;
    private const int Width = 8;
    private const int Vocabulary = 101;
    // 37 rows in chunks of 5: seven full chunks and a ragged last one.
    private const int ChunkRows = 5;
    private const int LargeVocabulary = 1000;
    private const int Batch = 3;
    private const int Seq = 24;
    // Initial weights (std 0.02) give near-uniform softmaxes whose gradients agree trivially; scaled up, they vary.
    private const float WeightScale = 10f;

    [Fact]
    public void LossAndGradientsMatchPlainCrossEntropy()
    {
        TestTorch.Use();
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var hiddenValues = randn(Rows, Width, generator: generator);
        var weightValues = randn(Vocabulary, Width, generator: generator);
        var targets = randint(Vocabulary, [Rows], generator: generator);

        var (plainLoss, plainHidden, plainWeight) = Run(hiddenValues, weightValues,
            (h, w) => nn.functional.cross_entropy(h.matmul(w.t()), targets));
        var (chunkedLoss, chunkedHidden, chunkedWeight) = Run(hiddenValues, weightValues,
            (h, w) => ChunkedCrossEntropy.MeanLoss(h, w, targets, ChunkRows));

        Assert.True(plainLoss > 1, $"loss {plainLoss} is too small for the comparison to mean anything");
        Assert.Equal(plainLoss, chunkedLoss, Tolerance);
        AssertClose(plainHidden, chunkedHidden, "d loss / d hidden");
        AssertClose(plainWeight, chunkedWeight, "d loss / d weight");
    }

    [Fact]
    public void PerRowLossMatchesPlainCrossEntropy()
    {
        TestTorch.Use();
        using var scope = NewDisposeScope();
        var generator = new Generator(8);
        var hidden = randn(Rows, Width, generator: generator);
        var weight = randn(Vocabulary, Width, generator: generator);
        var targets = randint(Vocabulary, [Rows], generator: generator);

        float[] plain = nn.functional.cross_entropy(hidden.matmul(weight.t()), targets, reduction: nn.Reduction.None).data<float>().ToArray();
        float[] chunked = ChunkedCrossEntropy.PerRowLoss(hidden, weight, targets, ChunkRows).data<float>().ToArray();

        AssertClose(plain, chunked, "per-row loss");
    }

    // The whole training loss of a model with a non-byte vocabulary (balance loss included): every parameter's gradient.
    [Fact]
    public void ModelGradientsMatchPlainCrossEntropy()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny") with { VocabSize = LargeVocabulary };
        var parameters = ModelInit.Initialize(config, 11);
        foreach (var t in parameters)
            if (t.Shape.Length == 2) for (int i = 0; i < t.Values.Length; i++) t.Values[i] *= WeightScale;
        var rng = new Random(12);
        long[] tokens = [.. Enumerable.Range(0, Batch * (Seq + 1)).Select(_ => (long)rng.Next(LargeVocabulary))];
        long[] inputs = new long[Batch * Seq], targets = new long[Batch * Seq];
        for (int r = 0; r < Batch; r++)
        {
            Array.Copy(tokens, r * (Seq + 1), inputs, r * Seq, Seq);
            Array.Copy(tokens, r * (Seq + 1) + 1, targets, r * Seq, Seq);
        }

        var (plainLoss, plainGrads) = ModelGradients(config, parameters, inputs, targets, (model, x, t) =>
        {
            var (logits, balance) = model.ForwardWithBalance(x);
            return (nn.functional.cross_entropy(logits.reshape(-1, config.VocabSize), t), balance);
        });
        var (chunkedLoss, chunkedGrads) = ModelGradients(config, parameters, inputs, targets, (model, x, t) =>
        {
            var (hidden, balance) = model.ForwardHidden(x);
            return (ChunkedCrossEntropy.MeanLoss(hidden.reshape(-1, config.Width), model.HeadWeight, t, ChunkRows), balance);
        });

        Assert.Equal(plainLoss, chunkedLoss, Tolerance);
        Assert.Equal(plainGrads.Keys, chunkedGrads.Keys);
        foreach (var (name, grad) in plainGrads) AssertClose(grad, chunkedGrads[name], name);
        Assert.True(plainGrads.Values.Sum(g => g.Sum(v => Math.Abs(v))) > 1, "the gradients are too small for the comparison to mean anything");
    }

    [Fact]
    public void BadArgumentsAreRejectedWithTheFix()
    {
        TestTorch.Use();
        using var scope = NewDisposeScope();
        var hidden = zeros(4, Width);
        var weight = zeros(Vocabulary, Width);
        var targets = zeros(4, ScalarType.Int64);

        var chunk = Assert.Throws<ArgumentOutOfRangeException>(() => ChunkedCrossEntropy.MeanLoss(hidden, weight, targets, -1));
        Assert.Contains(">= 1", chunk.Message);
        var shape = Assert.Throws<ArgumentException>(() => ChunkedCrossEntropy.PerRowLoss(hidden, zeros(Vocabulary, Width + 1), targets));
        Assert.Contains("[vocabulary, width]", shape.Message);
        var count = Assert.Throws<ArgumentException>(() => ChunkedCrossEntropy.MeanLoss(hidden, weight, zeros(5, ScalarType.Int64)));
        Assert.Contains("one per hidden row", count.Message);
    }

    [Fact]
    public void ChunksHoldAboutSixteenMebibytesOfLogits()
    {
        Assert.Equal(83, ChunkedCrossEntropy.RowsPerChunk(50257));
        Assert.Equal(16384, ChunkedCrossEntropy.RowsPerChunk(ModelConfig.ByteVocabSize));
        Assert.Equal(1, ChunkedCrossEntropy.RowsPerChunk(1L << 30));
    }

    private static (double Loss, float[] Hidden, float[] Weight) Run(Tensor hiddenValues, Tensor weightValues, Func<Tensor, Tensor, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        var h = hiddenValues.clone().requires_grad_(true);
        var w = weightValues.clone().requires_grad_(true);
        var l = loss(h, w);
        l.backward();
        return (l.item<float>(), h.grad!.data<float>().ToArray(), w.grad!.data<float>().ToArray());
    }

    private static (double Loss, Dictionary<string, float[]> Grads) ModelGradients(ModelConfig config, Hivemind.Protocol.Tensors.ParameterSet parameters,
        long[] inputs, long[] targets, Func<MoeTransformer, Tensor, Tensor, (Tensor CrossEntropy, Tensor Balance)> loss)
    {
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), parameters);
        model.train();
        using var scalars = new ScalarScope();
        using var scope = NewDisposeScope();
        var (crossEntropy, balance) = loss(model, tensor(inputs, [Batch, Seq]), tensor(targets));
        var total = crossEntropy.add(balance, scalars.Of(config.LoadBalanceWeight));
        total.backward();
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray());
        return (crossEntropy.item<float>(), grads);
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= Tolerance, $"{what}: max |plain - chunked| = {worst:E2} > {Tolerance}");
    }
}
