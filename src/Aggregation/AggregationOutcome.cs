namespace Hivemind.Aggregation;

/// <summary>The aggregate and the inputs the input policy left out, with reasons.</summary>
public sealed record AggregationOutcome(float[] Result, IReadOnlyList<InputRejection> Rejected)
{
    /// <summary>What the rule reported about this run (e.g. geomed stopping at its iteration limit before its tolerance); empty when nothing.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
