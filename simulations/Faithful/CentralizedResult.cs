namespace Hivemind.Simulations.Faithful;

/// <summary>A centralized baseline: one trainer on the whole model for the same tokens as the volunteer runs.</summary>
/// <param name="Label">"centralized dense" or "centralized MoE".</param>
/// <param name="Parameters">Total parameters.</param>
/// <param name="ActiveParameters">Parameters a token touches.</param>
/// <param name="Steps">AdamW steps.</param>
/// <param name="BatchSize">Sequences per step.</param>
/// <param name="Tokens">Tokens trained.</param>
/// <param name="FinalLoss">Held-out loss at the end.</param>
/// <param name="OptimalLoss">Corpus optimum.</param>
public sealed record CentralizedResult(
    string Label, long Parameters, long ActiveParameters, int Steps, int BatchSize, long Tokens, double FinalLoss, double OptimalLoss)
{
    /// <summary>Final loss minus the optimum.</summary>
    public double FinalGap => FinalLoss - OptimalLoss;
}
