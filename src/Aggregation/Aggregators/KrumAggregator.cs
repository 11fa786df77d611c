using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>Krum (Blanchard et al. 2017): the input closest to its n−f−2 nearest neighbours; needs n &gt; 2f+2. Ignores weights.</summary>
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
