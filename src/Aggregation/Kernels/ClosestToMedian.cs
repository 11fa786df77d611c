using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hivemind.Aggregation.Kernels;

/// <summary>
/// Bulyan's coordinate-wise step (El Mhamdi et al. 2018): per coordinate, the mean of the β values
/// closest to the median. With the θ values sorted (a sorting network over 8 coordinates at a time, as in
/// <see cref="CoordinateWise"/>), the β closest form a window [a, a+β−1], and moving the window right
/// from a helps exactly when v[a+β] − median &lt; median − v[a]; that only stops holding as a grows, so the window start is
/// the count of such a. Ties keep the lower window. Counting and the masked window sum are branch-free SIMD;
/// the comparison itself is done in double, where it is exact.
/// </summary>
internal static unsafe class ClosestToMedian
{
    private const int ChunkCoordinates = 16384;

    private static readonly int Lanes = Vector256<float>.Count;

    /// <summary>Per coordinate, the mean of the <paramref name="beta"/> inputs closest to the coordinate-wise median.</summary>
    public static float[] Mean(IReadOnlyList<ReadOnlyMemory<float>> inputs, int beta)
    {
        using var rows = new PinnedRows(inputs);
        int n = rows.Count;
        int d = rows.Length;
        if (beta < 1 || beta > n)
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"beta must be in 1..{n} (the number of inputs).");
        }

        var result = new float[d];
        int[] network = SortingNetwork.For(n, 0, n - 1);
        nint[] pointers = rows.Pointers;
        int chunks = (d + ChunkCoordinates - 1) / ChunkCoordinates;
        Parallel.For(0, chunks, AggregationParallelism.Current, chunk =>
        {
            int start = chunk * ChunkCoordinates;
            int end = Math.Min(d, start + ChunkCoordinates);
            var heap = new Vector256<float>[n];
            fixed (Vector256<float>* registers = heap)
            fixed (int* comparators = network)
            fixed (float* output = result)
            {
                RunChunk(pointers, registers, comparators, network.Length, beta, output, start, end);
            }

            RepairOverflow(pointers, beta, result, start, end);
        });
        return result;
    }

    private static void RunChunk(nint[] rows, Vector256<float>* r, int* comparators, int count, int beta, float* output, int start, int end)
    {
        int n = rows.Length;
        int j = start;
        for (; j + Lanes <= end; j += Lanes)
        {
            for (int i = 0; i < n; i++)
            {
                r[i] = Vector256.Load((float*)rows[i] + j);
            }

            Reduce(r, n, comparators, count, beta).Store(output + j);
        }

        int rest = end - j;
        if (rest > 0)
        {
            // Unused lanes get zeros; their results are dropped.
            float* lane = stackalloc float[Lanes];
            for (int i = 0; i < n; i++)
            {
                new Span<float>(lane, Lanes).Clear();
                new ReadOnlySpan<float>((float*)rows[i] + j, rest).CopyTo(new Span<float>(lane, Lanes));
                r[i] = Vector256.Load(lane);
            }

            Reduce(r, n, comparators, count, beta).Store(lane);
            new ReadOnlySpan<float>(lane, rest).CopyTo(new Span<float>(output + j, rest));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reduce(Vector256<float>* r, int n, int* comparators, int count, int beta)
    {
        for (int c = 0; c < count; c += 2)
        {
            int a = comparators[c];
            int b = comparators[c + 1];
            Vector256<float> x = r[a];
            Vector256<float> y = r[b];

            // Inputs are finite (the input policy removes NaN and ±∞), so the native min/max suffice.
            r[a] = Vector256.MinNative(x, y);
            r[b] = Vector256.MaxNative(x, y);
        }

        // The window test runs in double, where the median and both distances of float values are exact
        // (and cannot overflow), so near-ties go the same way as in exact arithmetic: lower window on a tie.
        (Vector256<double> lowLo, Vector256<double> lowHi) = Vector256.Widen(r[(n - 1) / 2]);
        (Vector256<double> highLo, Vector256<double> highHi) = Vector256.Widen(r[n / 2]);
        Vector256<double> half = Vector256.Create(0.5);
        Vector256<double> medianLo = (lowLo + highLo) * half;
        Vector256<double> medianHi = (lowHi + highHi) * half;
        Vector256<long> startLo = Vector256<long>.Zero;
        Vector256<long> startHi = Vector256<long>.Zero;
        for (int a = 0; a + beta < n; a++)
        {
            (Vector256<double> leftLo, Vector256<double> leftHi) = Vector256.Widen(r[a]);
            (Vector256<double> rightLo, Vector256<double> rightHi) = Vector256.Widen(r[a + beta]);

            // Shift right when the value entering is strictly closer than the one leaving. A true lane is all
            // ones, i.e. −1: subtracting counts it.
            startLo -= Vector256.LessThan(rightLo - medianLo, medianLo - leftLo).AsInt64();
            startHi -= Vector256.LessThan(rightHi - medianHi, medianHi - leftHi).AsInt64();
        }

        Vector256<int> windowStart = Vector256.Narrow(startLo, startHi);

        Vector256<int> windowEnd = windowStart + Vector256.Create(beta);
        Vector256<float> sum = Vector256<float>.Zero;
        for (int k = 0; k < n; k++)
        {
            var position = Vector256.Create(k);
            Vector256<float> inside = (Vector256.GreaterThanOrEqual(position, windowStart) & Vector256.LessThan(position, windowEnd)).AsSingle();
            sum += r[k] & inside;
        }

        return sum * Vector256.Create(1f / beta);
    }

    /// <summary>Recomputes in double the coordinates whose float window sum overflowed (values near float.MaxValue).</summary>
    private static void RepairOverflow(nint[] rows, int beta, float[] result, int start, int end)
    {
        int first = Policy.InputPolicy.FirstNonFinite(result.AsSpan(start, end - start));
        if (first < 0)
        {
            return;
        }

        int n = rows.Length;
        var column = new double[n];
        for (int j = start + first; j < end; j++)
        {
            if (float.IsFinite(result[j]))
            {
                continue;
            }

            for (int i = 0; i < n; i++)
            {
                column[i] = ((float*)rows[i])[j];
            }

            Array.Sort(column);
            double median = (column[(n - 1) / 2] + column[n / 2]) / 2;
            int a = 0;
            while (a + beta < n && column[a + beta] - median < median - column[a])
            {
                a++;
            }

            double sum = 0;
            for (int k = a; k < a + beta; k++)
            {
                sum += column[k];
            }

            result[j] = (float)(sum / beta);
        }
    }
}
