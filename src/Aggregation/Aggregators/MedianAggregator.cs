using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>Coordinate-wise median; breakdown point 1/2 per coordinate (tolerates f &lt; n/2). Ignores weights.</summary>
public sealed class MedianAggregator : IAggregator
{
    public string Name => "median";

    public void EnsureWithinBreakdown(int n) => Breakdown.RequireAtLeastOne(Name, n);

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        return CoordinateWise.Median(inputs);
    }
}
