using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>Multi-Krum: the mean of the m inputs with the lowest Krum scores (m defaults to n−f); needs n &gt; 2f+2.</summary>
public sealed class MultiKrumAggregator : IAggregator
{
    private readonly int _f;
    private readonly int? _m;

    /// <param name="f">Byzantine inputs tolerated.</param>
    /// <param name="m">Inputs averaged; null means n−f.</param>
    public MultiKrumAggregator(int f, int? m = null)
    {
        Breakdown.RequireNonNegative("multi-krum", "f", f);
        if (m is { } averaged)
        {
            Breakdown.RequireAtLeast("multi-krum", "m", averaged, 1, "it is how many inputs are averaged");
        }

        _f = f;
        _m = m;
    }

    public string Name => _m is null ? $"multi-krum(f={_f})" : $"multi-krum(f={_f},m={_m})";

    public void EnsureWithinBreakdown(int n)
    {
        Breakdown.Require(Name, n, _f, 2, 2, "Blanchard et al. 2017");
        if (_m > (long)n - _f)
        {
            throw new AggregationConfigException($"{Name}: m={_m} exceeds n-f = {n}-{_f} = {n - _f}; averaging more than n-f inputs may include attackers. Lower m.");
        }
    }

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        int n = inputs.Count;
        int m = _m ?? n - _f;
        double[] distances = GramMatrix.SquaredDistances(inputs);
        double[] scores = KrumScoring.Scores(distances, n, Enumerable.Range(0, n).ToArray(), _f);
        int[] chosen = KrumScoring.Lowest(scores, m);
        var coefficients = new float[m];
        Array.Fill(coefficients, 1f / m);
        return WeightedSum.Compute(inputs, coefficients, chosen);
    }
}
