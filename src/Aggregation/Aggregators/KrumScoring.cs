namespace Hivemind.Aggregation.Aggregators;

/// <summary>Krum scores: each candidate's sum of squared distances to its n−f−2 nearest other candidates.</summary>
internal static class KrumScoring
{
    /// <summary>Scores of the candidates in <paramref name="active"/> (indices into the n×n distance matrix).</summary>
    public static double[] Scores(double[] distances, int n, IReadOnlyList<int> active, int f)
    {
        int neighbours = Math.Max(0, active.Count - f - 2);
        var scores = new double[active.Count];
        var row = new double[active.Count - 1];
        for (int a = 0; a < active.Count; a++)
        {
            int k = 0;
            for (int b = 0; b < active.Count; b++)
            {
                if (b != a)
                {
                    row[k++] = distances[active[a] * n + active[b]];
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

    /// <summary>Positions of the m smallest scores, ties broken by position so the choice is deterministic.</summary>
    public static int[] Lowest(double[] scores, int m) =>
        Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ThenBy(i => i).Take(m).ToArray();
}
