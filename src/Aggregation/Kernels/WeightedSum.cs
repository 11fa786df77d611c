using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hivemind.Aggregation.Kernels;

/// <summary>Σ wᵢ·xᵢ over rows, in coordinate chunks that stay in L1 while every row streams through once.</summary>
internal static class WeightedSum
{
    /// <summary>4096 floats = 16 KB of output per chunk: fits L1 next to the streaming row.</summary>
    private const int ChunkCoordinates = 4096;

    /// <summary>2048 doubles = 16 KB of output per chunk, as for the float version.</summary>
    private const int DoubleChunkCoordinates = 2048;

    /// <summary>Returns Σ coefficients[i]·rows[rowIndex[i]] (all rows when rowIndex is null).</summary>
    public static float[] Compute(IReadOnlyList<ReadOnlyMemory<float>> rows, float[] coefficients, int[]? rowIndex = null)
    {
        int d = rows.Count == 0 ? 0 : rows[0].Length;
        var result = new float[d];
        int chunks = (d + ChunkCoordinates - 1) / ChunkCoordinates;
        Parallel.For(0, chunks, AggregationParallelism.Current, chunk =>
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

    /// <summary>
    /// Σ coefficients[i]·rows[i] accumulated in double and rounded once: for combinations whose
    /// coefficients come from an iteration (the geometric median), where float coefficients and float
    /// partial sums would cost bits of rows far from the origin (1000 ± 0.01).
    /// </summary>
    public static float[] ComputeDouble(IReadOnlyList<ReadOnlyMemory<float>> rows, double[] coefficients)
    {
        int d = rows.Count == 0 ? 0 : rows[0].Length;
        var result = new float[d];
        int chunks = (d + DoubleChunkCoordinates - 1) / DoubleChunkCoordinates;
        Parallel.For(0, chunks, AggregationParallelism.Current, () => new double[DoubleChunkCoordinates], (chunk, _, sum) =>
        {
            int start = chunk * DoubleChunkCoordinates;
            int length = Math.Min(d, start + DoubleChunkCoordinates) - start;
            Span<double> output = sum.AsSpan(0, length);
            output.Clear();
            for (int i = 0; i < coefficients.Length; i++)
            {
                if (coefficients[i] != 0)
                {
                    Accumulate(rows[i].Span.Slice(start, length), coefficients[i], output);
                }
            }

            for (int j = 0; j < length; j++)
            {
                result[start + j] = (float)output[j];
            }

            return sum;
        }, _ => { });
        return result;
    }

    /// <summary>Plain mean with equal weights.</summary>
    public static float[] Mean(IReadOnlyList<ReadOnlyMemory<float>> rows)
    {
        var coefficients = new float[rows.Count];
        Array.Fill(coefficients, 1f / rows.Count);
        return Compute(rows, coefficients);
    }

    private static void Accumulate(ReadOnlySpan<float> row, double coefficient, Span<double> output)
    {
        ref float source = ref MemoryMarshal.GetReference(row);
        ref double target = ref MemoryMarshal.GetReference(output);
        var c = Vector256.Create(coefficient);
        int lanes = Vector256<float>.Count;
        int half = Vector256<double>.Count;
        int j = 0;
        for (; j + lanes <= row.Length; j += lanes)
        {
            (Vector256<double> low, Vector256<double> high) = Vector256.Widen(Vector256.LoadUnsafe(ref source, (nuint)j));
            Vector256.FusedMultiplyAdd(low, c, Vector256.LoadUnsafe(ref target, (nuint)j)).StoreUnsafe(ref target, (nuint)j);
            Vector256.FusedMultiplyAdd(high, c, Vector256.LoadUnsafe(ref target, (nuint)(j + half))).StoreUnsafe(ref target, (nuint)(j + half));
        }

        for (; j < row.Length; j++)
        {
            output[j] += row[j] * coefficient;
        }
    }
}
