using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>Krum scores: each candidate's sum of squared distances to its n−f−2 nearest other candidates.</summary>
internal static class KrumScoring
{
    /// <summary>Scores of the candidates in <paramref name="active"/> (indices into the n×n distance matrix); NaN distances rank as +∞.</summary>
    public static double[] Scores(double[] distances, int n, IReadOnlyList<int> active, int f)
    {
        // In 64 bits: f near int.MaxValue must give zero neighbours, not a wrapped positive count.
        int neighbours = (int)Math.Clamp((long)active.Count - f - 2, 0, active.Count - 1);
        var scores = new double[active.Count];
        var row = new double[Math.Max(0, active.Count - 1)];
        for (int a = 0; a < active.Count; a++)
        {
            int k = 0;
            for (int b = 0; b < active.Count; b++)
            {
                if (b != a)
                {
                    row[k++] = NanLast.Key(distances[active[a] * n + active[b]]);
                }
            }

            Array.Sort(row);
            double score = 0;
            for (int m = 0; m < neighbours; m++)
            {
                score += row[m];
            }

            scores[a] = score;
        }

        return scores;
    }

    /// <summary>Positions of the m smallest scores, NaN last, ties broken by position so the choice is deterministic.</summary>
    public static int[] Lowest(double[] scores, int m) =>
        Enumerable.Range(0, scores.Length).OrderBy(i => NanLast.Key(scores[i])).ThenBy(i => i).Take(m).ToArray();
}
