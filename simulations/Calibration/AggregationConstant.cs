namespace Hivemind.Simulations.Calibration;

/// <summary>One rule's aggregation cost: nanoseconds per element per input (per input pair when the exponent is 2).</summary>
/// <param name="NanosecondsPerElementInput">Coordinator time per element per input^exponent on one machine.</param>
/// <param name="InputExponent">1 for coordinate-wise rules, 2 for pairwise-distance rules (Krum, NNM).</param>
/// <param name="Spec">The src/Aggregation spec that was timed; empty for an estimate.</param>
public sealed record AggregationConstant(double NanosecondsPerElementInput, int InputExponent, string Spec = "");
