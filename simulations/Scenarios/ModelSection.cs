using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scenarios;

/// <summary>"model": the MoE transformer's shape (defaults: a ~0.5B-parameter byte-level MoE).</summary>
public sealed record ModelSection
{
    /// <summary>Transformer blocks.</summary>
    public int Layers { get; init; } = 12;

    /// <summary>Residual width.</summary>
    public int DModel { get; init; } = 768;

    /// <summary>Experts per MoE layer.</summary>
    public int Experts { get; init; } = 8;

    /// <summary>Experts per token.</summary>
    public int TopK { get; init; } = 2;

    /// <summary>Hidden width of one expert.</summary>
    public int ExpertHidden { get; init; } = 3072;

    /// <summary>Vocabulary (256: byte level).</summary>
    public int Vocab { get; init; } = 256;

    /// <summary>Tokens per sequence.</summary>
    public int ContextLength { get; init; } = 1024;

    /// <summary>Whether the head shares the embedding matrix.</summary>
    public bool TiedEmbeddings { get; init; } = true;

    /// <summary>The shape for the cost model.</summary>
    public ModelShape ToShape() => new(Layers, DModel, Experts, TopK, ExpertHidden, Vocab, ContextLength, TiedEmbeddings);
}
