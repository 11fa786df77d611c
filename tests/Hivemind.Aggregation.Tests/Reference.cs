namespace Hivemind.Aggregation.Tests;

/// <summary>Plain loops the fast paths are checked against: obvious, slow, written independently.</summary>
internal static class Reference
{
    public static float[] SortedRangeMean(IReadOnlyList<float[]> rows, int lo, int hi)
    {
        int d = rows[0].Length;
        var result = new float[d];
        var column = new float[rows.Count];
        for (int j = 0; j < d; j++)
        {
            for (int i = 0; i < rows.Count; i++)
            {
                column[i] = rows[i][j];
            }

            Array.Sort(column);
            float sum = column[lo];
            for (int k = lo + 1; k <= hi; k++)
            {
                sum += column[k];
            }

            result[j] = sum * (1f / (hi - lo + 1));
        }

        return result;
    }

    public static float[] Median(IReadOnlyList<float[]> rows) => SortedRangeMean(rows, (rows.Count - 1) / 2, rows.Count / 2);

    public static float[] TrimmedMean(IReadOnlyList<float[]> rows, int f) => SortedRangeMean(rows, f, rows.Count - f - 1);

    public static double[] SquaredDistances(IReadOnlyList<float[]> rows)
    {
        int n = rows.Count;
        var result = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int k = 0; k < rows[i].Length; k++)
                {
                    double diff = (double)rows[i][k] - rows[j][k];
                    sum += diff * diff;
                }

                result[i * n + j] = sum;
            }
        }

        return result;
    }

    /// <summary>Index Krum picks: smallest sum of squared distances to the n−f−2 nearest others.</summary>
    public static int Krum(IReadOnlyList<float[]> rows, int f)
    {
        int n = rows.Count;
        double[] distances = SquaredDistances(rows);
        int best = -1;
        double bestScore = double.PositiveInfinity;
        for (int i = 0; i < n; i++)
        {
            double score = Enumerable.Range(0, n).Where(j => j != i).Select(j => distances[i * n + j]).Order().Take(n - f - 2).Sum();
            if (score < bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        return best;
    }

    public static float[] Mean(IReadOnlyList<float[]> rows)
    {
        var result = new float[rows[0].Length];
        for (int j = 0; j < result.Length; j++)
        {
            double sum = 0;
            foreach (float[] row in rows)
            {
                sum += row[j];
            }

            result[j] = (float)(sum / rows.Count);
        }

        return result;
    }
}
