namespace Hivemind.Aggregation.Kernels;

/// <summary>A Gram matrix of n rows about some origin (0, or their coordinate-wise median), in double.</summary>
/// <param name="Values">Row-major n×n, G[i,j] = (xᵢ − o)·(xⱼ − o).</param>
/// <param name="Count">n.</param>
/// <param name="Centred">True when o is the coordinate-wise median, false when o = 0.</param>
/// <remarks>Distances do not depend on o, and neither does ‖xᵢ − Σcⱼxⱼ‖² = Gᵢᵢ − 2(Gc)ᵢ + cᵀGc when Σcⱼ = 1.</remarks>
internal sealed record Gram(double[] Values, int Count, bool Centred)
{
    public double this[int i, int j] => Values[i * Count + j];

    /// <summary>Squared Euclidean distances, row-major n×n, clamped at 0 against rounding; the diagonal is exactly 0.</summary>
    public double[] SquaredDistances()
    {
        int n = Count;
        var distances = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                distances[i * n + j] = i == j ? 0 : Math.Max(0, Values[i * n + i] + Values[j * n + j] - 2 * Values[i * n + j]);
            }
        }

        return distances;
    }

    /// <summary>True when the median squared norm exceeds <see cref="GramMatrix.CancellationRatio"/> × the median squared distance: the rows sit too far from o for their spread.</summary>
    public bool Cancels()
    {
        int n = Count;
        if (n < 2)
        {
            return false;
        }

        double[] distances = SquaredDistances();
        var pairs = new List<double>(n * (n - 1) / 2);
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                pairs.Add(distances[i * n + j]);
            }
        }

        double norm = Median(Enumerable.Range(0, n).Select(i => Values[i * n + i]).ToList());
        return norm > GramMatrix.CancellationRatio * Median(pairs);
    }

    private static double Median(List<double> values)
    {
        values.Sort((a, b) => NanLast.Key(a).CompareTo(NanLast.Key(b)));
        int n = values.Count;
        return (values[(n - 1) / 2] + values[n / 2]) / 2;
    }
}
