using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>
/// Bulyan (El Mhamdi et al. 2018): pick θ = n−2f inputs by repeated Krum, then a coordinate-wise
/// trimmed mean dropping f from each side (β = θ−2f values kept); needs n ≥ 4f+3. Ignores weights.
/// The trimmed mean stands in for the paper's "β closest to the median", as ByzFL does.
/// </summary>
public sealed class BulyanAggregator : IAggregator
{
    private readonly int _f;

    public BulyanAggregator(int f)
    {
        Breakdown.RequireNonNegative("bulyan", "f", f);
        _f = f;
    }

    public string Name => $"bulyan(f={_f})";

    public void EnsureWithinBreakdown(int n) => Breakdown.Require(Name, n, _f, 4, 2, "El Mhamdi et al. 2018");

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        int n = inputs.Count;
        int theta = n - 2 * _f;
        double[] distances = GramMatrix.SquaredDistances(inputs);
        var remaining = Enumerable.Range(0, n).ToList();
        var selected = new List<ReadOnlyMemory<float>>(theta);
        while (selected.Count < theta)
        {
            double[] scores = KrumScoring.Scores(distances, n, remaining, _f);
            int best = KrumScoring.Lowest(scores, 1)[0];
            selected.Add(inputs[remaining[best]]);
            remaining.RemoveAt(best);
        }

        return CoordinateWise.TrimmedMean(selected, _f);
    }
}
