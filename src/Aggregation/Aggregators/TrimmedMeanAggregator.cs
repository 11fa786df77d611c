using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>Coordinate-wise mean after dropping the f smallest and f largest values; needs n &gt; 2f. Ignores weights.</summary>
public sealed class TrimmedMeanAggregator : IAggregator
{
    private readonly int _f;

    public TrimmedMeanAggregator(int f)
    {
        Breakdown.RequireNonNegative("trimmed-mean", "f", f);
        _f = f;
    }

    public string Name => $"trimmed-mean(f={_f})";

    public void EnsureWithinBreakdown(int n) => Breakdown.Require(Name, n, _f, 2, 0, "Yin et al. 2018");

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        return CoordinateWise.TrimmedMean(inputs, _f);
    }
}
