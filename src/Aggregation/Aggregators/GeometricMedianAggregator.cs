using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>
/// Geometric median by smoothed Weiszfeld (Pillutla et al. 2022, RFA): z ← Σ βᵢxᵢ / Σ βᵢ with
/// βᵢ = wᵢ / max(ν, ‖z − xᵢ‖), from the weighted mean, until the step is below tol·‖z‖ or iters
/// run out. Breakdown point 1/2 (tolerates f &lt; n/2).
/// </summary>
public sealed class GeometricMedianAggregator : IAggregator
{
    private readonly double _nu;
    private readonly int _iterations;
    private readonly double _tolerance;

    public GeometricMedianAggregator(double nu = 1e-6, int iterations = 8, double tolerance = 1e-6)
    {
        Breakdown.RequirePositive("geomed", "nu", nu);
        Breakdown.RequirePositive("geomed", "iters", iterations);
        Breakdown.RequirePositive("geomed", "tol", tolerance);
        _nu = nu;
        _iterations = iterations;
        _tolerance = tolerance;
    }

    public string Name => $"geomed(nu={_nu:R},iters={_iterations},tol={_tolerance:R})";

    public void EnsureWithinBreakdown(int n) => Breakdown.RequireAtLeastOne(Name, n);

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        int n = inputs.Count;
        float[] w = Weights.Normalized(weights, n, Name);
        float[] z = WeightedSum.Compute(inputs, w);
        var distances = new double[n];
        for (int iteration = 0; iteration < _iterations; iteration++)
        {
            float[] centre = z;
            Parallel.For(0, n, i => distances[i] = VectorMath.Distance(centre, inputs[i].Span));
            var beta = new double[n];
            double total = 0;
            for (int i = 0; i < n; i++)
            {
                beta[i] = w[i] / Math.Max(_nu, distances[i]);
                total += beta[i];
            }

            float[] next = WeightedSum.Compute(inputs, beta.Select(b => (float)(b / total)).ToArray());
            double step = VectorMath.Distance(next, z);
            z = next;
            if (step <= _tolerance * Math.Max(VectorMath.Norm(z), _nu))
            {
                break;
            }
        }

        return z;
    }
}
