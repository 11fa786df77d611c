namespace Hivemind.Aggregation.Kernels;

/// <summary>The Gram matrix of the inputs centred on their coordinate-wise median, and that median.</summary>
/// <param name="Gram">Row-major n×n, G[i,j] = (xᵢ − m)·(xⱼ − m), in double.</param>
/// <param name="Count">n.</param>
/// <param name="Median">m, the coordinate-wise median (mean of the two middle values for even n).</param>
internal sealed record CenteredGram(double[] Gram, int Count, float[] Median)
{
    public double this[int i, int j] => Gram[i * Count + j];

    /// <summary>Squared Euclidean distances, row-major n×n, clamped at 0 against rounding; the diagonal is exactly 0.</summary>
    public double[] SquaredDistances()
    {
        int n = Count;
        var distances = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                distances[i * n + j] = i == j ? 0 : Math.Max(0, Gram[i * n + i] + Gram[j * n + j] - 2 * Gram[i * n + j]);
            }
        }

        return distances;
    }
}
