using System.Numerics.Tensors;

namespace Hivemind.Aggregation.Kernels;

/// <summary>Σ wᵢ·xᵢ over rows, in coordinate chunks that stay in L1 while every row streams through once.</summary>
internal static class WeightedSum
{
    /// <summary>4096 floats = 16 KB of output per chunk: fits L1 next to the streaming row.</summary>
    private const int ChunkCoordinates = 4096;

    /// <summary>Returns Σ coefficients[i]·rows[rowIndex[i]] (all rows when rowIndex is null).</summary>
    public static float[] Compute(IReadOnlyList<ReadOnlyMemory<float>> rows, float[] coefficients, int[]? rowIndex = null)
    {
        int d = rows.Count == 0 ? 0 : rows[0].Length;
        var result = new float[d];
        int chunks = (d + ChunkCoordinates - 1) / ChunkCoordinates;
        Parallel.For(0, chunks, chunk =>
        {
            int start = chunk * ChunkCoordinates;
            int length = Math.Min(d, start + ChunkCoordinates) - start;
            Span<float> output = result.AsSpan(start, length);
            for (int i = 0; i < coefficients.Length; i++)
            {
                int row = rowIndex is null ? i : rowIndex[i];
                TensorPrimitives.MultiplyAdd(rows[row].Span.Slice(start, length), coefficients[i], output, output);
            }
        });
        return result;
    }

    /// <summary>Plain mean with equal weights.</summary>
    public static float[] Mean(IReadOnlyList<ReadOnlyMemory<float>> rows)
    {
        var coefficients = new float[rows.Count];
        Array.Fill(coefficients, 1f / rows.Count);
        return Compute(rows, coefficients);
    }
}
