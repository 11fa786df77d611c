namespace Hivemind.Aggregation.Tests;

/// <summary>Seeded random inputs for tests.</summary>
internal static class Data
{
    public static float[][] Gaussian(int n, int d, int seed, float scale = 1f, float offset = 0f)
    {
        var random = new Random(seed);
        var rows = new float[n][];
        for (int i = 0; i < n; i++)
        {
            rows[i] = new float[d];
            for (int j = 0; j < d; j++)
            {
                rows[i][j] = offset + scale * (float)(random.NextDouble() * 2 - 1);
            }
        }

        return rows;
    }

    public static IReadOnlyList<ReadOnlyMemory<float>> AsMemory(IEnumerable<float[]> rows) =>
        rows.Select(r => (ReadOnlyMemory<float>)r).ToArray();

    public static float[][] Shuffled(float[][] rows, int seed)
    {
        var copy = rows.ToArray();
        new Random(seed).Shuffle(copy);
        return copy;
    }
}
