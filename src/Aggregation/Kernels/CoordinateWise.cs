using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hivemind.Aggregation.Kernels;

/// <summary>
/// Coordinate-wise order statistics: the mean of sorted positions lo..hi of every coordinate.
/// Rows are contiguous, so one Vector256 load of row i at offset j holds coordinates j..j+7 of
/// input i; a sorting network over the n loaded registers sorts 8 coordinates at once with no
/// transpose and no copy of the inputs. Coordinate chunks run in parallel.
/// </summary>
internal static unsafe class CoordinateWise
{
    /// <summary>Coordinates per parallel work item: big enough to amortise scheduling, small enough to balance 2+ cores.</summary>
    private const int ChunkCoordinates = 16384;

    /// <summary>Above this many inputs the per-chunk register file lives on the heap instead of the stack.</summary>
    private const int MaxStackInputs = 1024;

    private static readonly int Lanes = Vector256<float>.Count;
    private static readonly int Lanes512 = Vector512<float>.Count;

    /// <summary>16 lanes per min/max where the CPU has AVX-512: half the instructions per coordinate.</summary>
    internal static bool UseVector512 { get; set; } = Vector512.IsHardwareAccelerated;

    /// <summary>Use the generated straight-line networks (<see cref="UnrolledNetworks"/>) for the input counts they cover; both paths give identical results.</summary>
    internal static bool UseUnrolled { get; set; } = true;

    /// <summary>Coordinate-wise median (mean of the two middle values when n is even).</summary>
    public static float[] Median(IReadOnlyList<ReadOnlyMemory<float>> inputs)
    {
        int n = inputs.Count;
        return SortedRangeMean(inputs, (n - 1) / 2, n / 2);
    }

    /// <summary>Coordinate-wise mean of the values left after dropping the f smallest and f largest.</summary>
    public static float[] TrimmedMean(IReadOnlyList<ReadOnlyMemory<float>> inputs, int f) =>
        SortedRangeMean(inputs, f, inputs.Count - f - 1);

    /// <param name="wide">Use 16-lane AVX-512 registers; null follows <see cref="UseVector512"/>. Both paths give identical results.</param>
    public static float[] SortedRangeMean(IReadOnlyList<ReadOnlyMemory<float>> inputs, int lo, int hi, bool? wide = null)
    {
        bool useWide = (wide ?? UseVector512) && Vector512.IsHardwareAccelerated;
        using var rows = new PinnedRows(inputs);
        int d = rows.Length;
        var result = new float[d];
        if (d == 0)
        {
            return result;
        }

        nint[] pointers = rows.Pointers;
        int chunks = (d + ChunkCoordinates - 1) / ChunkCoordinates;
        Parallel.For(0, chunks, AggregationParallelism.Current, chunk =>
        {
            int start = chunk * ChunkCoordinates;
            RangeInto(pointers, lo, hi, result, start, Math.Min(d, start + ChunkCoordinates), useWide);
        });
        return result;
    }

    /// <summary>The sorted-range mean of coordinates start..end−1 into result[start..end), on the calling thread.</summary>
    /// <param name="rows">Pinned row addresses (see <see cref="PinnedRows"/>), all at least end floats long.</param>
    internal static void RangeInto(nint[] rows, int lo, int hi, float[] result, int start, int end, bool wide)
    {
        int n = rows.Length;
        int[] network = SortingNetwork.For(n, lo, hi);
        float scale = 1f / (hi - lo + 1);
        if (wide && n <= MaxStackInputs)
        {
            Vector512<float>* registers512 = stackalloc Vector512<float>[n];
            RunChunk512(rows, registers512, network, lo, hi, scale, result, start, end);
        }
        else if (n <= MaxStackInputs)
        {
            Vector256<float>* registers = stackalloc Vector256<float>[n];
            RunChunk(rows, registers, network, lo, hi, scale, result, start, end);
        }
        else
        {
            var heap = new Vector256<float>[n];
            fixed (Vector256<float>* registers = heap)
            {
                RunChunk(rows, registers, network, lo, hi, scale, result, start, end);
            }
        }

        RepairOverflow(rows, lo, hi, result, start, end);
    }

    /// <summary>
    /// The kept values are summed in float, which overflows to ±∞ when they are near float.MaxValue (finite
    /// inputs, but honest ones that large). Such coordinates, and only those, are recomputed in double; a
    /// scan of the output chunk (1/n of the input) is all it costs when nothing overflowed.
    /// </summary>
    private static void RepairOverflow(nint[] rows, int lo, int hi, float[] result, int start, int end)
    {
        int first = Policy.InputPolicy.FirstNonFinite(result.AsSpan(start, end - start));
        if (first < 0)
        {
            return;
        }

        var column = new double[rows.Length];
        for (int j = start + first; j < end; j++)
        {
            if (float.IsFinite(result[j]))
            {
                continue;
            }

            for (int i = 0; i < rows.Length; i++)
            {
                column[i] = ((float*)rows[i])[j];
            }

            Array.Sort(column);
            double sum = 0;
            for (int k = lo; k <= hi; k++)
            {
                sum += column[k];
            }

            result[j] = (float)(sum / (hi - lo + 1));
        }
    }

    private static void RunChunk(nint[] rows, Vector256<float>* registers, int[] network, int lo, int hi, float scale, float[] result, int start, int end)
    {
        int n = rows.Length;
        fixed (float* output = result)
        fixed (int* comparators = network)
        fixed (nint* rowPointers = rows)
        {
            int j = start;
            if (UseUnrolled && UnrolledNetworks.Supports(n))
            {
                // Straight-line network on locals: the values stay in registers instead of the stack array.
                bool median = lo == (n - 1) / 2 && hi == n / 2;
                j = UnrolledNetworks.Run256(n, median, rowPointers, output, start, end, lo, hi, scale, registers);
            }

            for (; j + Lanes <= end; j += Lanes)
            {
                for (int i = 0; i < n; i++)
                {
                    registers[i] = Vector256.Load((float*)rows[i] + j);
                    UnrolledNetworks.Prefetch((float*)rows[i] + j + UnrolledNetworks.PrefetchFloats);
                }

                Reduce(registers, comparators, network.Length, lo, hi, scale).Store(output + j);
            }

            int rest = end - j;
            if (rest > 0)
            {
                // The last few coordinates go through the same network with zero padding in unused lanes.
                float* lane = stackalloc float[Lanes];
                for (int i = 0; i < n; i++)
                {
                    new Span<float>(lane, Lanes).Clear();
                    new ReadOnlySpan<float>((float*)rows[i] + j, rest).CopyTo(new Span<float>(lane, Lanes));
                    registers[i] = Vector256.Load(lane);
                }

                Reduce(registers, comparators, network.Length, lo, hi, scale).Store(lane);
                new ReadOnlySpan<float>(lane, rest).CopyTo(new Span<float>(output + j, rest));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reduce(Vector256<float>* r, int* comparators, int count, int lo, int hi, float scale)
    {
        for (int c = 0; c < count; c += 2)
        {
            int a = comparators[c];
            int b = comparators[c + 1];
            Vector256<float> x = r[a];
            Vector256<float> y = r[b];

            // MinNative/MaxNative map to one vminps/vmaxps; inputs are finite (the policy removes NaN).
            r[a] = Vector256.MinNative(x, y);
            r[b] = Vector256.MaxNative(x, y);
        }

        Vector256<float> sum = r[lo];
        for (int k = lo + 1; k <= hi; k++)
        {
            sum += r[k];
        }

        return sum * scale;
    }

    private static void RunChunk512(nint[] rows, Vector512<float>* registers, int[] network, int lo, int hi, float scale, float[] result, int start, int end)
    {
        int n = rows.Length;
        fixed (float* output = result)
        fixed (int* comparators = network)
        fixed (nint* rowPointers = rows)
        {
            int j = start;
            if (UseUnrolled && UnrolledNetworks.Supports(n))
            {
                // Straight-line network on locals: the values stay in registers instead of the stack array.
                bool median = lo == (n - 1) / 2 && hi == n / 2;
                j = UnrolledNetworks.Run512(n, median, rowPointers, output, start, end, lo, hi, scale, registers);
            }

            for (; j + Lanes512 <= end; j += Lanes512)
            {
                for (int i = 0; i < n; i++)
                {
                    registers[i] = Vector512.Load((float*)rows[i] + j);
                    UnrolledNetworks.Prefetch((float*)rows[i] + j + UnrolledNetworks.PrefetchFloats);
                }

                Reduce512(registers, comparators, network.Length, lo, hi, scale).Store(output + j);
            }

            int rest = end - j;
            if (rest > 0)
            {
                // The last few coordinates go through the same network with zero padding in unused lanes.
                float* lane = stackalloc float[Lanes512];
                for (int i = 0; i < n; i++)
                {
                    new Span<float>(lane, Lanes512).Clear();
                    new ReadOnlySpan<float>((float*)rows[i] + j, rest).CopyTo(new Span<float>(lane, Lanes512));
                    registers[i] = Vector512.Load(lane);
                }

                Reduce512(registers, comparators, network.Length, lo, hi, scale).Store(lane);
                new ReadOnlySpan<float>(lane, rest).CopyTo(new Span<float>(output + j, rest));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reduce512(Vector512<float>* r, int* comparators, int count, int lo, int hi, float scale)
    {
        for (int c = 0; c < count; c += 2)
        {
            int a = comparators[c];
            int b = comparators[c + 1];
            Vector512<float> x = r[a];
            Vector512<float> y = r[b];

            // MinNative/MaxNative map to one vminps/vmaxps; inputs are finite (the policy removes NaN).
            r[a] = Vector512.MinNative(x, y);
            r[b] = Vector512.MaxNative(x, y);
        }

        Vector512<float> sum = r[lo];
        for (int k = lo + 1; k <= hi; k++)
        {
            sum += r[k];
        }

        return sum * scale;
    }
}
