using System.Numerics.Tensors;
using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Attacks;

/// <summary>
/// Min-max and min-sum (Shejwalkar &amp; Houmansadr 2021): the attacker sends mean + γ·p with
/// p = −std (the paper's "std" perturbation) and the largest γ that keeps it as close to the
/// honest updates as they are to each other: min-max bounds its largest distance to any honest
/// update by the largest honest pairwise distance; min-sum bounds its sum of squared distances
/// by the largest honest one. ‖μ + γp − hᵢ‖² = aᵢ + 2γbᵢ + γ²c, so each probe of the γ search
/// costs O(n) after one pass over the data.
/// </summary>
public sealed class DistanceBoundAttack : IAttack
{
    private const int SearchSteps = 60;
    private readonly bool _sum;

    private DistanceBoundAttack(bool sum) => _sum = sum;

    public static DistanceBoundAttack MinMax { get; } = new(sum: false);

    public static DistanceBoundAttack MinSum { get; } = new(sum: true);

    public string Name => _sum ? "min-sum" : "min-max";

    /// <summary>The γ chosen for the last <see cref="Craft"/> call on this thread, for tests and logs.</summary>
    [ThreadStatic]
    public static double LastGamma;

    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        HonestStatistics.Length(honest, f, Name);
        int n = honest.Count;
        float[] mean = HonestStatistics.Mean(honest);
        float[] p = HonestStatistics.StandardDeviation(honest, mean);
        TensorPrimitives.Negate(p, p);

        double[] distances = GramMatrix.SquaredDistances(honest);
        var a = new double[n];
        var b = new double[n];
        Parallel.For(0, n, AggregationParallelism.Current, i =>
        {
            var diff = new float[mean.Length];
            TensorPrimitives.Subtract(mean, honest[i].Span, diff);
            a[i] = VectorMath.SquaredNorm(diff);
            b[i] = VectorMath.Dot(p, diff);
        });
        double c = VectorMath.SquaredNorm(p);
        double bound = Bound(distances, n);

        double gamma = c == 0 ? 0 : Search(g => Cost(a, b, c, g) <= bound);
        LastGamma = gamma;
        TensorPrimitives.MultiplyAdd(p, (float)gamma, mean, mean);
        return HonestStatistics.Repeat(mean, f);
    }

    private double Bound(double[] distances, int n)
    {
        double bound = 0;
        for (int i = 0; i < n; i++)
        {
            double row = 0;
            for (int j = 0; j < n; j++)
            {
                row = _sum ? row + distances[i * n + j] : Math.Max(row, distances[i * n + j]);
            }

            bound = Math.Max(bound, row);
        }

        return bound;
    }

    private double Cost(double[] a, double[] b, double c, double gamma)
    {
        double cost = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] + 2 * gamma * b[i] + gamma * gamma * c;
            cost = _sum ? cost + d : Math.Max(cost, d);
        }

        return cost;
    }

    /// <summary>Largest γ ≥ 0 with feasible(γ): doubling to bracket, then bisection; feasibility is an interval from 0 (convex costs).</summary>
    private static double Search(Func<double, bool> feasible)
    {
        double lo = 0;
        double hi = 1;
        for (int step = 0; step < SearchSteps && feasible(hi); step++)
        {
            lo = hi;
            hi *= 2;
        }

        for (int step = 0; step < SearchSteps; step++)
        {
            double mid = (lo + hi) / 2;
            if (feasible(mid))
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
