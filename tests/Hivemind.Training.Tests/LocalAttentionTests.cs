using Hivemind.Data;
using static TorchSharp.torch;

namespace Hivemind.Training.Tests;

/// <summary>GPT-Neo's alternating global and local attention, and presets sized by a tokenizer.</summary>
public sealed class LocalAttentionTests
{
    private const int Window = 5;
    private const int Seq = 24;

    [Fact]
    public void LocalLayersSeeOnlyTheWindowAndGlobalLayersEverything()
    {
        TestTorch.Use();
        var global = ModelConfig.Preset("tiny");
        var local = global with { LocalAttentionWindow = Window };
        // The same weights: the window changes the mask, not the parameters.
        var parameters = ModelInit.Initialize(global, 3);
        foreach (var t in parameters)
            if (t.Shape.Length == 2) for (int i = 0; i < t.Values.Length; i++) t.Values[i] *= 10f;
        var rng = new Random(5);
        var tokens = Enumerable.Range(0, Seq).Select(_ => (long)rng.Next(global.VocabSize)).ToArray();

        float[] g = Logits(global, parameters, tokens), l = Logits(local, parameters, tokens);

        int vocab = global.VocabSize;
        // A row i < W sees the same keys either way; from row W on, the local layer drops the oldest keys.
        for (int i = 0; i < Seq; i++)
        {
            double diff = Enumerable.Range(0, vocab).Max(v => Math.Abs(g[i * vocab + v] - l[i * vocab + v]));
            if (i < Window) Assert.True(diff < 1e-5, $"row {i} < window differs by {diff}");
            else Assert.True(diff > 1e-3, $"row {i} >= window is unchanged ({diff}): the window is not applied");
        }
        Assert.False(global.IsLocalAttentionLayer(1));
        Assert.Equal([false, true], Enumerable.Range(0, local.Layers).Select(local.IsLocalAttentionLayer));
    }

    [Fact]
    public void MaskIsGptNeosLocalBias()
    {
        TestTorch.Use();
        using var scope = NewDisposeScope();
        bool[] mask = CausalSelfAttention.LocalMask(6, 3, CPU).data<bool>().ToArray();

        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
                Assert.Equal(j <= i && i - j < 3, mask[i * 6 + j]);
    }

    [Fact]
    public void PresetTakesTheTokenizersVocabulary()
    {
        var config = ModelConfig.Preset("small", Gpt2Tokenizer.Instance);

        Assert.Equal(50257, config.VocabSize);
        Assert.Equal(ModelConfig.ByteVocabSize, ModelConfig.Preset("small").VocabSize);
        Assert.Equal([50257L, 256L], ParameterLayout.Describe(config).Single(p => p.Name == ParameterNames.TokenEmbedding).Shape);
        Assert.Equal(ModelConfig.Preset("small").TrunkParameters + 2L * (50257 - 256) * 256, config.TrunkParameters);
    }

    [Theory]
    [InlineData(-1, 256, "LocalAttentionWindow is -1")]
    [InlineData(0, 1, "VocabSize is 1")]
    public void BadWindowOrVocabularyIsRefusedWithTheFix(int window, int vocab, string expected)
    {
        var config = ModelConfig.Preset("tiny") with { LocalAttentionWindow = window, VocabSize = vocab };
        var e = Assert.Throws<ArgumentException>(config.Validate);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static float[] Logits(ModelConfig config, Hivemind.Protocol.Tensors.ParameterSet parameters, long[] tokens)
    {
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), parameters);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return model.forward(tensor(tokens, [1, tokens.Length])).data<float>().ToArray();
    }
}
