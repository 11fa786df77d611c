using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>
/// Bulyan as published (El Mhamdi et al. 2018): select θ = n−2f inputs by Krum applied repeatedly to
/// the ones not yet selected, then per coordinate average the β = θ−2f selected values closest to
/// their median. Needs n ≥ 4f+3. Ignores weights.
/// <para>
/// Differences from ByzFL's Bulyan, on purpose: ByzFL ends with a coordinate-wise trimmed mean of the θ
/// selected (the β middle ranks), which is not the paper's rule when the selected values are skewed
/// around their median; and Krum inside scores with the paper's n−f−2 neighbours (see
/// <see cref="KrumAggregator"/>). Distances come from the median-centred Gram matrix, so huge or
/// offset rows keep their ranking.
/// </para>
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
        int beta = theta - 2 * _f;
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

        return ClosestToMedian.Mean(selected, beta);
    }
}
