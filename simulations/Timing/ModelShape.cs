namespace Hivemind.Simulations.Timing;

/// <summary>The shape of a byte-level MoE transformer, enough to count its parameters and FLOPs.</summary>
/// <param name="Layers">Transformer blocks, each attention + one MoE feed-forward layer.</param>
/// <param name="DModel">Residual width.</param>
/// <param name="Experts">Experts per MoE layer (E).</param>
/// <param name="TopK">Experts each token is routed to (k).</param>
/// <param name="ExpertHidden">Hidden width of one expert's two-matrix feed-forward.</param>
/// <param name="Vocab">Vocabulary size (256 for byte level).</param>
/// <param name="ContextLength">Tokens per sequence, used for the attention FLOPs.</param>
/// <param name="TiedEmbeddings">Whether the output head shares the input embedding matrix.</param>
public sealed record ModelShape(
    int Layers, int DModel, int Experts, int TopK, int ExpertHidden, int Vocab, int ContextLength, bool TiedEmbeddings);
