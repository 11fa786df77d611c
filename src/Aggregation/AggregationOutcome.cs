namespace Hivemind.Aggregation;

/// <summary>The aggregate and the inputs the input policy left out, with reasons.</summary>
public sealed record AggregationOutcome(float[] Result, IReadOnlyList<InputRejection> Rejected);
