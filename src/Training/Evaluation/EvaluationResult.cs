namespace Hivemind.Training;

/// <summary>Held-out quality of a model: loss in nats per byte, bits per byte, gap to the optimum, per-domain loss, expert load.</summary>
/// <param name="Loss">Mean next-byte cross-entropy in nats.</param>
/// <param name="BitsPerByte">Loss / ln 2 (the vocabulary is bytes).</param>
/// <param name="GapToOptimum">Loss minus the best achievable loss, when it is known (synthetic corpus).</param>
/// <param name="DomainLoss">Mean loss per domain, over the rows of that domain.</param>
/// <param name="ExpertLoad">Per layer, per expert: (token, slot) assignments; empty rows for the dense variant.</param>
/// <param name="Tokens">Predictions scored.</param>
public sealed record EvaluationResult(
    double Loss,
    double BitsPerByte,
    double? GapToOptimum,
    IReadOnlyDictionary<int, double> DomainLoss,
    long[][] ExpertLoad,
    long Tokens);
