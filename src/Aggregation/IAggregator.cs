namespace Hivemind.Aggregation;

/// <summary>One aggregation rule: many update vectors of equal length in, one vector out.</summary>
public interface IAggregator
{
    /// <summary>The rule's canonical spec, e.g. <c>trimmed-mean(f=2)</c>.</summary>
    string Name { get; }

    /// <summary>Throws <see cref="AggregationConfigException"/> naming n, f and the bound when n inputs exceed the rule's breakdown point.</summary>
    void EnsureWithinBreakdown(int n);

    /// <summary>Aggregates finite inputs of equal length; <paramref name="weights"/> is empty (uniform) or one per input.</summary>
    float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights);
}
