using Hivemind.Data;

namespace Hivemind.Training;

/// <summary>Shape of the MoE transformer (or its dense twin), with named presets and validation.</summary>
/// <param name="Name">Preset or user name, for reports.</param>
/// <param name="Layers">Transformer blocks.</param>
/// <param name="Width">Residual stream width (d_model).</param>
/// <param name="Heads">Attention heads; must divide <paramref name="Width"/>.</param>
/// <param name="Experts">Experts per MoE layer (E).</param>
/// <param name="TopK">Experts each token is routed to (k).</param>
/// <param name="ExpertHidden">Hidden width of one expert's feed-forward.</param>
/// <param name="ContextLength">Longest sequence the position table covers.</param>
/// <param name="LoadBalanceWeight">Weight of the Switch-style load-balancing loss.</param>
/// <param name="Dense">True for the dense variant: one feed-forward of width TopK × ExpertHidden per block, no router.</param>
/// <param name="CapacityFactor">Expert capacity as a multiple of a perfectly balanced share (tokens × TopK ÷ Experts); assignments past it
/// are dropped (the token keeps its residual). 0, the default, means unlimited: nothing is ever dropped.</param>
/// <param name="VocabSize">Rows of the embedding and the head: 256 for bytes, the tokenizer's size otherwise (see <see cref="Preset(string, ITextTokenizer)"/>).</param>
/// <param name="LocalAttentionWindow">0: every layer attends to the whole causal context. W &gt; 0: as GPT-Neo, layers alternate
/// global (even) and local (odd), a local layer attending to the W most recent positions, itself included.</param>
public sealed record ModelConfig(
    string Name,
    int Layers,
    int Width,
    int Heads,
    int Experts,
    int TopK,
    int ExpertHidden,
    int ContextLength,
    double LoadBalanceWeight = 0.01,
    bool Dense = false,
    double CapacityFactor = 0,
    int VocabSize = ModelConfig.ByteVocabSize,
    int LocalAttentionWindow = 0)
{
    /// <summary>Byte-level vocabulary, the presets' default.</summary>
    public const int ByteVocabSize = ByteTokenizer.ByteVocabulary;

    /// <summary>GPT-Neo's local attention window (its configs use 256).</summary>
    public const int GptNeoWindow = 256;

    /// <summary>Preset names accepted by <see cref="Preset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small", "base", "micro", "tiny-wide"];

    /// <summary>tiny: tests, trains in seconds on one core; small: demo on 2 cores; base: about 100M parameters;
    /// micro: the faithful simulator's large matrices (one block, a few thousand parameters, a work unit in milliseconds);
    /// tiny-wide: `tiny` at twice the width and context, the real-text demo's model (with GPT-2's vocabulary the head costs twice
    /// `tiny`'s, and the blocks get 4 times the parameters `tiny`'s 64-wide ones have; docs/benchmarks/data.md, session 9).</summary>
    public static ModelConfig Preset(string name) => name switch
    {
        "tiny" => new ModelConfig("tiny", Layers: 2, Width: 64, Heads: 4, Experts: 4, TopK: 2, ExpertHidden: 128, ContextLength: 64),
        "small" => new ModelConfig("small", Layers: 4, Width: 256, Heads: 4, Experts: 8, TopK: 2, ExpertHidden: 512, ContextLength: 256),
        "base" => new ModelConfig("base", Layers: 8, Width: 768, Heads: 12, Experts: 8, TopK: 2, ExpertHidden: 768, ContextLength: 512),
        "micro" => new ModelConfig("micro", Layers: 1, Width: 16, Heads: 2, Experts: 4, TopK: 2, ExpertHidden: 32, ContextLength: 32),
        "tiny-wide" => new ModelConfig("tiny-wide", Layers: 2, Width: 128, Heads: 4, Experts: 4, TopK: 2, ExpertHidden: 256, ContextLength: 128),
        _ => throw new ArgumentException($"unknown model preset '{name}'; use one of: {string.Join(", ", PresetNames)}.", nameof(name)),
    };

    /// <summary>Preset <paramref name="name"/> with the vocabulary of <paramref name="tokenizer"/>.</summary>
    public static ModelConfig Preset(string name, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Preset(name) with { VocabSize = tokenizer.VocabSize };
    }

    /// <summary>True when layer <paramref name="layer"/> attends only to the last <see cref="LocalAttentionWindow"/> positions.</summary>
    public bool IsLocalAttentionLayer(int layer) => LocalAttentionWindow > 0 && layer % 2 == 1;

    /// <summary>The dense variant with the same active parameters per token (the router aside).</summary>
    public ModelConfig AsDense() => this with { Name = Name + "-dense", Dense = true };

    public int HeadWidth => Width / Heads;

    /// <summary>Hidden width of the dense variant's feed-forward: k experts' worth.</summary>
    public int DenseHidden => TopK * ExpertHidden;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the bad value and the fix.</summary>
    public void Validate()
    {
        Require(Layers >= 1, $"Layers is {Layers}; a model needs at least 1 block.");
        Require(Width >= 1, $"Width is {Width}; it must be positive.");
        Require(Heads >= 1, $"Heads is {Heads}; it must be positive.");
        Require(Width % Heads == 0, $"Width {Width} is not divisible by Heads {Heads}; pick a head count that divides the width.");
        Require(Experts >= 1, $"Experts is {Experts}; each MoE layer needs at least 1 expert.");
        Require(TopK >= 1, $"TopK is {TopK}; each token must go to at least 1 expert.");
        Require(TopK <= Experts, $"TopK {TopK} is larger than the expert count {Experts}; use TopK <= Experts.");
        Require(ExpertHidden >= 1, $"ExpertHidden is {ExpertHidden}; it must be positive.");
        Require(ContextLength >= 1, $"ContextLength is {ContextLength}; it must be positive.");
        Require(double.IsFinite(LoadBalanceWeight) && LoadBalanceWeight >= 0,
            $"LoadBalanceWeight is {LoadBalanceWeight}; use a finite value >= 0 (0.01 is the Switch Transformer default).");
        Require(CapacityFactor == 0 || (double.IsFinite(CapacityFactor) && CapacityFactor > 0),
            $"CapacityFactor is {CapacityFactor}; use 0 for unlimited expert capacity or a finite value > 0 (1.25 is a common choice).");
        Require(!string.IsNullOrWhiteSpace(Name), "Name is empty; give the configuration a name for reports.");
        Require(VocabSize >= 2, $"VocabSize is {VocabSize}; use 256 for bytes or the tokenizer's size (50257 for gpt2).");
        Require(LocalAttentionWindow >= 0,
            $"LocalAttentionWindow is {LocalAttentionWindow}; use 0 (every layer global) or a window W >= 1 ({GptNeoWindow} in GPT-Neo).");
    }

    private static void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException($"invalid model configuration: {message}");
    }

    /// <summary>Most (token, slot) assignments one expert takes in a layer call over <paramref name="tokens"/> tokens:
    /// ⌈CapacityFactor × tokens × TopK ÷ Experts⌉, or <paramref name="tokens"/> (never binding, as top-k picks distinct experts) when unlimited.</summary>
    public long ExpertCapacity(long tokens) =>
        CapacityFactor == 0 ? tokens : Math.Min(tokens, (long)Math.Ceiling(CapacityFactor * tokens * TopK / Experts));

    /// <summary>Embeddings, per block attention, norms and router, final norm and head: everything but the experts.</summary>
    public long TrunkParameters
    {
        get
        {
            long d = Width;
            long embeddings = (long)VocabSize * d + (long)ContextLength * d;
            long perBlock = 4 * d /* two layer norms */ + 4 * d * d /* qkv + proj */ + (Dense ? 2 * d * DenseHidden : (long)Experts * d /* router */);
            return embeddings + Layers * perBlock + 2 * d + (long)VocabSize * d;
        }
    }

    /// <summary>Parameters of one expert (w1 and w2).</summary>
    public long ParametersPerExpert => Dense ? 0 : 2L * Width * ExpertHidden;

    public long TotalParameters => TrunkParameters + (Dense ? 0 : (long)Layers * Experts * ParametersPerExpert);

    /// <summary>Parameters a token touches: the trunk plus k experts per block.</summary>
    public long ActiveParametersPerToken => TrunkParameters + (Dense ? 0 : (long)Layers * TopK * ParametersPerExpert);

    /// <summary>Active parameters that take part in matrix products (embedding lookups excluded, head included).</summary>
    public long ActiveMatmulParametersPerToken => ActiveParametersPerToken - (long)VocabSize * Width - (long)ContextLength * Width;

    /// <summary>6 × active matmul parameters plus attention scores and mixing (6 × layers × context × width), as in Kaplan et al.</summary>
    public double TrainingFlopsPerToken => TrainingFlopsPerTokenAt(ContextLength);

    /// <summary><see cref="TrainingFlopsPerToken"/> for sequences of <paramref name="seqLen"/> tokens.</summary>
    public double TrainingFlopsPerTokenAt(int seqLen) => 6.0 * ActiveMatmulParametersPerToken + 6.0 * Layers * seqLen * Width;
}
