using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>
/// Geometric median by smoothed Weiszfeld (Pillutla et al. 2022, RFA): z ← Σ βᵢxᵢ / Σ βᵢ with
/// βᵢ = wᵢ / max(ν, ‖z − xᵢ‖), starting at the coordinate-wise median, until the step is at most
/// tol × the median distance from z to the inputs (scale- and translation-free) or iters run out.
/// Breakdown point 1/2 (tolerates f &lt; n/2) holds for the converged point; an iterate stopped early
/// still moves with the attack, so stopping at iters is reported in <see cref="LastWarnings"/>.
/// <para>
/// Every iterate after the first is a convex combination Σ cⱼxⱼ, so the distances come from the Gram
/// matrix G (<see cref="GramMatrix"/>: safe against overflow and cancellation): ‖xᵢ − z‖² = Gᵢᵢ −
/// 2(Gc)ᵢ + cᵀGc. A few passes over the data (median, distances to it, G, the final z), then O(n²) per
/// iteration; the iteration count barely affects run time.
/// Differences from ByzFL's GeometricMedian: it starts at the mean, and its tolerance is relative to ‖z‖
/// (so it depends on where the origin is).
/// </para>
/// </summary>
public sealed class GeometricMedianAggregator : IAggregator, IAggregationDiagnostics
{
    /// <summary>Smoothing ν: distances below it count as ν, so a point on an input does not divide by zero.</summary>
    public const double DefaultNu = 1e-6;

    /// <summary>Upper bound on Weiszfeld steps; each costs O(n²) on the Gram matrix, so a generous bound is cheap.</summary>
    public const int DefaultIterations = 1000;

    /// <summary>Stop when the step is at most this fraction of the median input distance.</summary>
    public const double DefaultTolerance = 1e-6;

    private readonly double _nu;
    private readonly int _iterations;
    private readonly double _tolerance;

    public GeometricMedianAggregator(double nu = DefaultNu, int iterations = DefaultIterations, double tolerance = DefaultTolerance)
    {
        Breakdown.RequirePositive("geomed", "nu", nu);
        Breakdown.RequireAtLeast("geomed", "iters", iterations, 1, "Weiszfeld steps");
        Breakdown.RequirePositive("geomed", "tol", tolerance);
        _nu = nu;
        _iterations = iterations;
        _tolerance = tolerance;
    }

    public string Name => $"geomed(nu={_nu:R},iters={_iterations},tol={_tolerance:R})";

    /// <summary>Weiszfeld steps taken by the last call.</summary>
    public int LastIterations { get; private set; }

    /// <summary>Whether the last call met its tolerance before running out of iterations.</summary>
    public bool LastConverged { get; private set; }

    public IReadOnlyList<string> LastWarnings { get; private set; } = [];

    public void EnsureWithinBreakdown(int n) => Breakdown.RequireAtLeastOne(Name, n);

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        int n = inputs.Count;
        float[] w = Weights.Normalized(weights, n, Name);

        // Step 1 from the coordinate-wise median, with distances taken directly (the median is no
        // combination of the inputs); after it every iterate is Σ cⱼxⱼ with Σ cⱼ = 1.
        float[] median = CoordinateWise.Median(inputs);
        var distances = new double[n];
        Parallel.For(0, n, AggregationParallelism.Current, i => distances[i] = VectorMath.Distance(median, inputs[i].Span));
        double scale = Math.Max(Median(distances), _nu);
        var c = new double[n];
        WeiszfeldWeights(w, distances, c);
        Gram gram = GramMatrix.Compute(inputs);

        var next = new double[n];
        double step = double.PositiveInfinity;
        int iteration = 1;
        bool converged = false;
        while (iteration < _iterations && !converged)
        {
            Distances(gram, c, distances);
            scale = Math.Max(Median(distances), _nu);
            WeiszfeldWeights(w, distances, next);
            step = Norm(gram, next, c);
            (c, next) = (next, c);
            iteration++;
            converged = step <= _tolerance * scale;
        }

        LastIterations = iteration;
        LastConverged = converged;
        LastWarnings = converged
            ? []
            : [$"{Name}: stopped after {iteration} iterations with step {step:G3} > tol × median distance = {_tolerance * scale:G3}; the result is not the converged geometric median and may still move with an attack. Raise iters."];
        return WeightedSum.ComputeDouble(inputs, c);
    }

    /// <summary>cᵢ = βᵢ / Σβ with βᵢ = wᵢ / max(ν, distanceᵢ): the next Weiszfeld iterate's coefficients.</summary>
    private void WeiszfeldWeights(float[] w, double[] distances, double[] coefficients)
    {
        double total = 0;
        for (int i = 0; i < coefficients.Length; i++)
        {
            coefficients[i] = w[i] / Math.Max(_nu, distances[i]);
            total += coefficients[i];
        }

        for (int i = 0; i < coefficients.Length; i++)
        {
            coefficients[i] /= total;
        }
    }

    /// <summary>‖xᵢ − z‖ for z = Σ cⱼxⱼ with Σ cⱼ = 1 (any Gram origin gives the same), clamped at 0 against rounding.</summary>
    private static void Distances(Gram gram, double[] c, double[] distances)
    {
        int n = gram.Count;
        var gc = new double[n];
        double cgc = 0;
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                sum += gram[i, j] * c[j];
            }

            gc[i] = sum;
            cgc += c[i] * sum;
        }

        for (int i = 0; i < n; i++)
        {
            distances[i] = Math.Sqrt(Math.Max(0, gram[i, i] - 2 * gc[i] + cgc));
        }
    }

    /// <summary>‖Σ (aⱼ − bⱼ)xⱼ‖ for coefficient vectors that both sum to 1 (so the origin cancels).</summary>
    private static double Norm(Gram gram, double[] a, double[] b)
    {
        int n = gram.Count;
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double di = a[i] - b[i];
            if (di == 0)
            {
                continue;
            }

            for (int j = 0; j < n; j++)
            {
                total += di * gram[i, j] * (a[j] - b[j]);
            }
        }

        return Math.Sqrt(Math.Max(0, total));
    }

    private static double Median(double[] values)
    {
        double[] sorted = values.Select(NanLast.Key).Order().ToArray();
        int n = sorted.Length;
        return (sorted[(n - 1) / 2] + sorted[n / 2]) / 2;
    }
}
