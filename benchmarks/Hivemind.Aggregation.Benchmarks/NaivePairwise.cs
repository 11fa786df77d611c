using System.Numerics.Tensors;

namespace Hivemind.Aggregation.Benchmarks;

/// <summary>
/// The peer for the Gram-matrix kernel: pair by pair, one SIMD distance per pair
/// (TensorPrimitives.Distance), pairs spread over both cores. Each pair re-reads both rows from memory.
/// </summary>
internal static class NaivePairwise
{
    public static double[] SquaredDistances(IReadOnlyList<ReadOnlyMemory<float>> rows)
    {
        int n = rows.Count;
        var result = new double[n * n];
        var pairs = new List<(int I, int J)>();
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                pairs.Add((i, j));
            }
        }

        Parallel.ForEach(pairs, pair =>
        {
            double d = TensorPrimitives.Distance(rows[pair.I].Span, rows[pair.J].Span);
            result[pair.I * n + pair.J] = result[pair.J * n + pair.I] = d * d;
        });
        return result;
    }
}
