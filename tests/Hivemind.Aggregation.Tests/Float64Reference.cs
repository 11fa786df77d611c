namespace Hivemind.Aggregation.Tests;

/// <summary>
/// Every rule written again in double, from its paper, as plainly as possible: no Gram trick, no
/// centring, no SIMD, no sorting networks. The fast float code is checked against these.
/// </summary>
internal static class Float64Reference
{
    public static double[] Mean(IReadOnlyList<float[]> rows) => Combination(rows, Enumerable.Repeat(1.0 / rows.Count, rows.Count).ToArray());

    public static double[] Combination(IReadOnlyList<float[]> rows, double[] coefficients)
    {
        var result = new double[rows[0].Length];
        for (int i = 0; i < rows.Count; i++)
        {
            for (int j = 0; j < result.Length; j++)
            {
                result[j] += coefficients[i] * rows[i][j];
            }
        }

        return result;
    }

    public static double[] Median(IReadOnlyList<float[]> rows) => PerCoordinate(rows, column =>
    {
        int n = column.Length;
        return (column[(n - 1) / 2] + column[n / 2]) / 2;
    });

    public static double[] TrimmedMean(IReadOnlyList<float[]> rows, int f) =>
        PerCoordinate(rows, column => column.Skip(f).Take(column.Length - 2 * f).Average());

    public static double SquaredDistance(float[] a, float[] b)
    {
        double sum = 0;
        for (int k = 0; k < a.Length; k++)
        {
            double difference = (double)a[k] - b[k];
            sum += difference * difference;
        }

        return sum;
    }

    public static double Distance(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum());

    public static double Distance(double[] a, float[] b) => Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum());

    /// <summary>Krum scores over the candidates: sum of squared distances to the |candidates|−f−2 nearest other candidates.</summary>
    public static double[] KrumScores(IReadOnlyList<float[]> rows, IReadOnlyList<int> candidates, int f)
    {
        int neighbours = candidates.Count - f - 2;
        return candidates.Select(i => candidates.Where(j => j != i)
            .Select(j => SquaredDistance(rows[i], rows[j]))
            .Order()
            .Take(neighbours)
            .Sum()).ToArray();
    }

    /// <summary>Indices of the m lowest Krum scores, ties by index.</summary>
    public static int[] MultiKrumChoice(IReadOnlyList<float[]> rows, int f, int m)
    {
        int[] all = Enumerable.Range(0, rows.Count).ToArray();
        double[] scores = KrumScores(rows, all, f);
        return all.OrderBy(i => scores[i]).ThenBy(i => i).Take(m).ToArray();
    }

    public static double[] MultiKrum(IReadOnlyList<float[]> rows, int f, int m) =>
        Mean(MultiKrumChoice(rows, f, m).Select(i => rows[i]).ToArray());

    /// <summary>El Mhamdi et al. 2018: θ = n−2f by repeated Krum, then per coordinate the mean of the β = θ−2f values closest to the median.</summary>
    public static double[] Bulyan(IReadOnlyList<float[]> rows, int f)
    {
        int n = rows.Count;
        int theta = n - 2 * f;
        int beta = theta - 2 * f;
        var remaining = Enumerable.Range(0, n).ToList();
        var selected = new List<float[]>();
        while (selected.Count < theta)
        {
            double[] scores = KrumScores(rows, remaining, f);
            int best = Enumerable.Range(0, remaining.Count).OrderBy(k => scores[k]).ThenBy(k => k).First();
            selected.Add(rows[remaining[best]]);
            remaining.RemoveAt(best);
        }

        return PerCoordinate(selected, column =>
        {
            double median = (column[(theta - 1) / 2] + column[theta / 2]) / 2;

            // Nearest to the median first; at equal distance the smaller value (a stable sort of the sorted column).
            return column.OrderBy(v => Math.Abs(v - median)).Take(beta).Average();
        });
    }

    /// <summary>Smoothed Weiszfeld from the coordinate-wise median, to a step of 1e-12 × the median distance.</summary>
    public static double[] GeometricMedian(IReadOnlyList<float[]> rows, double nu = 1e-6, int iterations = 100_000)
    {
        double[] z = Median(rows);
        for (int iteration = 0; iteration < iterations; iteration++)
        {
            double[] distances = rows.Select(r => Distance(z, r)).ToArray();
            double[] beta = distances.Select(d => 1 / Math.Max(nu, d)).ToArray();
            double total = beta.Sum();
            double[] next = Combination(rows, beta.Select(b => b / total).ToArray());
            double step = Distance(next, z);
            z = next;
            double[] sorted = distances.Order().ToArray();
            if (step <= 1e-12 * Math.Max(nu, (sorted[(sorted.Length - 1) / 2] + sorted[sorted.Length / 2]) / 2))
            {
                break;
            }
        }

        return z;
    }

    /// <summary>Karimireddy et al. 2021 with uniform weights: v ← v + mean of clip_τ(xᵢ − v), from the coordinate-wise median.</summary>
    public static double[] CenteredClipping(IReadOnlyList<float[]> rows, double tau, int iterations)
    {
        double[] v = Median(rows);
        int n = rows.Count;
        for (int iteration = 0; iteration < iterations; iteration++)
        {
            var step = new double[v.Length];
            foreach (float[] x in rows)
            {
                double distance = Distance(v, x);
                double scale = distance <= tau ? 1 : tau / distance;
                for (int j = 0; j < v.Length; j++)
                {
                    step[j] += (x[j] - v[j]) * scale / n;
                }
            }

            for (int j = 0; j < v.Length; j++)
            {
                v[j] += step[j];
            }
        }

        return v;
    }

    /// <summary>Allouah et al. 2023: row i becomes the mean of its n−f nearest rows (itself included), ties by index.</summary>
    public static float[][] NearestNeighbourMixing(IReadOnlyList<float[]> rows, int f)
    {
        int n = rows.Count;
        return Enumerable.Range(0, n).Select(i =>
        {
            float[][] nearest = Enumerable.Range(0, n)
                .OrderBy(j => SquaredDistance(rows[i], rows[j]))
                .ThenBy(j => j)
                .Take(n - f)
                .Select(j => rows[j])
                .ToArray();
            return Mean(nearest).Select(v => (float)v).ToArray();
        }).ToArray();
    }

    public static double[] Clip(float[] row, double tau)
    {
        double norm = Math.Sqrt(row.Sum(v => (double)v * v));
        double scale = norm <= tau ? 1 : tau / norm;
        return row.Select(v => v * scale).ToArray();
    }

    private static double[] PerCoordinate(IReadOnlyList<float[]> rows, Func<double[], double> reduce)
    {
        var result = new double[rows[0].Length];
        for (int j = 0; j < result.Length; j++)
        {
            double[] column = rows.Select(r => (double)r[j]).Order().ToArray();
            result[j] = reduce(column);
        }

        return result;
    }
}
