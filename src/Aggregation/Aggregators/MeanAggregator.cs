using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>Weighted mean (weights = sample counts). Breakdown point 0: one attacker moves it anywhere.</summary>
public sealed class MeanAggregator : IAggregator
{
    public string Name => "mean";

    public void EnsureWithinBreakdown(int n) => Breakdown.RequireAtLeastOne(Name, n);

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        return WeightedSum.Compute(inputs, Weights.Normalized(weights, inputs.Count, Name));
    }
}
