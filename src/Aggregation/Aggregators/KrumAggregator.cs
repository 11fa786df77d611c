using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>
/// Krum (Blanchard et al. 2017): the input with the smallest sum of squared distances to its n−f−2
/// nearest neighbours; needs n &gt; 2f+2. Ignores weights.
/// <para>
/// Difference from ByzFL, on purpose: ByzFL scores with n−f−1 neighbours; this is the paper's n−f−2
/// (its proof needs the n−f−2, and both agree whenever the attackers are far). Distances come from the
/// median-centred Gram matrix (accumulated in double across blocks), so rows of 1e20 or rows at
/// 1000 ± 0.01 keep their ranking; a NaN score, should one ever arise, ranks last, never first.
/// </para>
/// </summary>
public sealed class KrumAggregator : IAggregator
{
    private readonly int _f;

    public KrumAggregator(int f)
    {
        Breakdown.RequireNonNegative("krum", "f", f);
        _f = f;
    }

    public string Name => $"krum(f={_f})";

    public void EnsureWithinBreakdown(int n) => Breakdown.Require(Name, n, _f, 2, 2, "Blanchard et al. 2017");

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        int n = inputs.Count;
        double[] distances = GramMatrix.SquaredDistances(inputs);
        double[] scores = KrumScoring.Scores(distances, n, Enumerable.Range(0, n).ToArray(), _f);
        return inputs[KrumScoring.Lowest(scores, 1)[0]].ToArray();
    }
}
