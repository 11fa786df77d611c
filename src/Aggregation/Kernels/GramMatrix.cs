using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hivemind.Aggregation.Kernels;

/// <summary>
/// Pairwise squared distances from a cache-blocked Gram matrix: ‖a−b‖² = ‖a‖² + ‖b‖² − 2a·b. Each block
/// of coordinates of all n rows is read from memory once and reused by all n² pairs from cache, instead
/// of n² passes over memory; 4×2 register tiles keep the FMA units busy. Partial dot products run in
/// float within a block of 2048 coordinates and are summed across blocks in double.
/// <para>
/// Numerics. Raw float rows fail two ways. Products of values above ~1.8e19 overflow to ∞ (and ∞ − ∞ is
/// NaN): a block whose float tile comes out non-finite is redone with each row scaled by a power of two
/// to magnitudes below 1 (exact, and undone in double), so it cannot overflow; blocks without huge
/// values keep the plain kernel, and overflow is detected, not predicted, so it costs nothing there.
/// Rows far from the origin relative to their spread (1000 ± 0.01, a drift shared by every update)
/// cancel in ‖a‖² + ‖b‖² − 2a·b: when the median squared norm exceeds <see cref="CancellationRatio"/>
/// times the median squared distance, the Gram is recomputed with every block centred on its
/// coordinate-wise median (in the honest range while f &lt; n/2) and scaled as above, which removes
/// the shared offset exactly (translation does not change distances). Medians make the test robust: an
/// attacker minority can neither force nor suppress the centred pass.
/// </para>
/// </summary>
internal static unsafe class GramMatrix
{
    /// <summary>
    /// Recentre when the median ‖x‖² is above this multiple of the median squared distance. The float
    /// block sums err by ~1e-6 of ‖a‖² + ‖b‖², so below it a typical distance keeps ~1e-4 relative accuracy.
    /// </summary>
    internal const double CancellationRatio = 16;

    private const int BlockCoordinates = BlockState.RowFloats;

    private const int TileRows = 4;
    private const int TileCols = 2;

    /// <summary>The n×n Gram matrix of the rows about some origin (0, or the coordinate-wise median when rows are far from 0), row-major.</summary>
    /// <param name="wide">Use 16-lane AVX-512 tiles; null means whenever the CPU has them.</param>
    /// <param name="centre">Force the plain (false) or the median-centred (true) pass; null decides by <see cref="CancellationRatio"/>. For tests and benchmarks.</param>
    public static Gram Compute(IReadOnlyList<ReadOnlyMemory<float>> inputs, bool? wide = null, bool? centre = null)
    {
        bool useWide = (wide ?? true) && Vector512.IsHardwareAccelerated;
        using var rows = new PinnedRows(inputs);
        if (centre != true)
        {
            var plain = new Gram(Accumulate(rows, centre: false, useWide), rows.Count, Centred: false);
            if (centre == false || !plain.Cancels())
            {
                return plain;
            }
        }

        return new Gram(Accumulate(rows, centre: true, useWide), rows.Count, Centred: true);
    }

    /// <summary>Squared Euclidean distances, row-major n×n (see <see cref="Gram.SquaredDistances"/>).</summary>
    public static double[] SquaredDistances(IReadOnlyList<ReadOnlyMemory<float>> inputs, bool? wide = null, bool? centre = null) =>
        Compute(inputs, wide, centre).SquaredDistances();

    private static double[] Accumulate(PinnedRows rows, bool centre, bool wide)
    {
        bool medianWide = CoordinateWise.UseVector512 && Vector512.IsHardwareAccelerated;
        int n = rows.Count;
        int d = rows.Length;
        var gram = new double[n * n];
        float[] median = centre ? new float[d] : [];
        nint[] pointers = rows.Pointers;
        int blocks = (d + BlockCoordinates - 1) / BlockCoordinates;
        var gate = new object();
        Parallel.For(0, blocks, AggregationParallelism.Current, () => new BlockState(n), (block, _, state) =>
        {
            int start = block * BlockCoordinates;
            int end = Math.Min(d, start + BlockCoordinates);
            if (centre)
            {
                CoordinateWise.RangeInto(pointers, (n - 1) / 2, n / 2, median, start, end, medianWide);
                CentreAndScale(pointers, median, start, end, state);
                AccumulateBlock(state, end - start, wide);
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    state.Tiles[i] = pointers[i] + start * sizeof(float);
                    state.Scales[i] = 1;
                }

                if (!AccumulateBlock(state, end - start, wide))
                {
                    Scale(pointers, start, end, state);
                    AccumulateBlock(state, end - start, wide);
                }
            }

            return state;
        }, state =>
        {
            lock (gate)
            {
                for (int k = 0; k < state.Gram.Length; k++)
                {
                    gram[k] += state.Gram[k];
                }
            }
        });

        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                gram[j * n + i] = gram[i * n + j];
            }
        }

        return gram;
    }

    /// <summary>Copies every row of the block into the scratch scaled by 2^eᵢ so its largest magnitude is below 1, recording the exact factor 2^−eᵢ that undoes it.</summary>
    private static void Scale(nint[] rows, int start, int end, BlockState state)
    {
        int length = end - start;
        for (int i = 0; i < rows.Length; i++)
        {
            var source = new ReadOnlySpan<float>((float*)rows[i] + start, length);
            var target = new Span<float>(state.Row(i), length);
            state.Tiles[i] = (nint)state.Row(i);
            float largest = TensorPrimitives.MaxMagnitude(source);
            int exponent = largest == 0 ? 0 : -(MathF.ILogB(largest) + 1);
            TensorPrimitives.Multiply(source, MathF.ScaleB(1f, exponent), target);
            state.Scales[i] = Math.ScaleB(1.0, -exponent);
        }
    }

    /// <summary>
    /// Writes (x − m)/2·2^eᵢ for every row i into the block scratch, with eᵢ chosen so the row's largest
    /// magnitude is below 1, and records the exact factor 2^(1−eᵢ) that undoes it. Halving first keeps
    /// x − m finite even for x and m of opposite sign near float.MaxValue.
    /// </summary>
    private static void CentreAndScale(nint[] rows, float[] median, int start, int end, BlockState state)
    {
        int length = end - start;
        ReadOnlySpan<float> centre = median.AsSpan(start, length);
        for (int i = 0; i < rows.Length; i++)
        {
            var source = new ReadOnlySpan<float>((float*)rows[i] + start, length);
            var target = new Span<float>(state.Row(i), length);
            state.Tiles[i] = (nint)state.Row(i);
            TensorPrimitives.Multiply(source, 0.5f, target);
            TensorPrimitives.MultiplyAdd(centre, -0.5f, target, target);
            float largest = length == 0 ? 0 : TensorPrimitives.MaxMagnitude(target);
            if (largest == 0)
            {
                state.Scales[i] = 0;
                continue;
            }

            // largest < 2^(ILogB+1), so multiplying by 2^−(ILogB+1) leaves every magnitude below 1.
            int exponent = -(MathF.ILogB(largest) + 1);
            TensorPrimitives.Multiply(target, MathF.ScaleB(1f, exponent), target);
            state.Scales[i] = Math.ScaleB(1.0, 1 - exponent);
        }
    }

    /// <summary>Adds the block's scaled tile products to the state's Gram; returns false, adding nothing, if a float sum overflowed.</summary>
    private static bool AccumulateBlock(BlockState state, int length, bool wide)
    {
        int n = state.Count;
        nint[] rows = state.Tiles;
        double[] block = state.Block;
        double[] scales = state.Scales;
        Span<float> tile = stackalloc float[TileRows * TileCols];
        for (int i0 = 0; i0 < n; i0 += TileRows)
        {
            // Only tiles touching the upper triangle (j >= i); the lower one is mirrored at the end.
            for (int j0 = i0; j0 < n; j0 += TileCols)
            {
                if (wide)
                {
                    Tile512(rows, i0, j0, 0, length, tile);
                }
                else
                {
                    Tile(rows, i0, j0, 0, length, tile);
                }

                // An overflow anywhere in a float sum leaves ±∞ or NaN in its result, never a wrong finite value.
                foreach (float value in tile)
                {
                    if (!float.IsFinite(value))
                    {
                        return false;
                    }
                }

                for (int a = 0; a < TileRows; a++)
                {
                    for (int b = 0; b < TileCols; b++)
                    {
                        int i = i0 + a;
                        int j = j0 + b;
                        if (i < n && j < n && i <= j)
                        {
                            block[i * n + j] = scales[i] * scales[j] * tile[a * TileCols + b];
                        }
                    }
                }
            }
        }

        double[] gram = state.Gram;
        for (int i = 0; i < n; i++)
        {
            for (int j = i; j < n; j++)
            {
                gram[i * n + j] += block[i * n + j];
            }
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(nint[] rows, int i0, int j0, int start, int length, Span<float> tile)
    {
        int last = rows.Length - 1;

        // Rows past the end repeat the last row; their results are discarded by the caller.
        float* a0 = (float*)rows[Math.Min(i0, last)] + start;
        float* a1 = (float*)rows[Math.Min(i0 + 1, last)] + start;
        float* a2 = (float*)rows[Math.Min(i0 + 2, last)] + start;
        float* a3 = (float*)rows[Math.Min(i0 + 3, last)] + start;
        float* b0 = (float*)rows[Math.Min(j0, last)] + start;
        float* b1 = (float*)rows[Math.Min(j0 + 1, last)] + start;
        Vector256<float> s00 = default, s01 = default, s10 = default, s11 = default;
        Vector256<float> s20 = default, s21 = default, s30 = default, s31 = default;
        int lanes = Vector256<float>.Count;
        int k = 0;
        for (; k + lanes <= length; k += lanes)
        {
            Vector256<float> y0 = Vector256.Load(b0 + k);
            Vector256<float> y1 = Vector256.Load(b1 + k);
            Vector256<float> x = Vector256.Load(a0 + k);
            s00 = Vector256.FusedMultiplyAdd(x, y0, s00);
            s01 = Vector256.FusedMultiplyAdd(x, y1, s01);
            x = Vector256.Load(a1 + k);
            s10 = Vector256.FusedMultiplyAdd(x, y0, s10);
            s11 = Vector256.FusedMultiplyAdd(x, y1, s11);
            x = Vector256.Load(a2 + k);
            s20 = Vector256.FusedMultiplyAdd(x, y0, s20);
            s21 = Vector256.FusedMultiplyAdd(x, y1, s21);
            x = Vector256.Load(a3 + k);
            s30 = Vector256.FusedMultiplyAdd(x, y0, s30);
            s31 = Vector256.FusedMultiplyAdd(x, y1, s31);
        }

        float t00 = Vector256.Sum(s00), t01 = Vector256.Sum(s01), t10 = Vector256.Sum(s10), t11 = Vector256.Sum(s11);
        float t20 = Vector256.Sum(s20), t21 = Vector256.Sum(s21), t30 = Vector256.Sum(s30), t31 = Vector256.Sum(s31);
        for (; k < length; k++)
        {
            t00 += a0[k] * b0[k];
            t01 += a0[k] * b1[k];
            t10 += a1[k] * b0[k];
            t11 += a1[k] * b1[k];
            t20 += a2[k] * b0[k];
            t21 += a2[k] * b1[k];
            t30 += a3[k] * b0[k];
            t31 += a3[k] * b1[k];
        }

        tile[0] = t00;
        tile[1] = t01;
        tile[2] = t10;
        tile[3] = t11;
        tile[4] = t20;
        tile[5] = t21;
        tile[6] = t30;
        tile[7] = t31;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile512(nint[] rows, int i0, int j0, int start, int length, Span<float> tile)
    {
        int last = rows.Length - 1;

        // Rows past the end repeat the last row; their results are discarded by the caller.
        float* a0 = (float*)rows[Math.Min(i0, last)] + start;
        float* a1 = (float*)rows[Math.Min(i0 + 1, last)] + start;
        float* a2 = (float*)rows[Math.Min(i0 + 2, last)] + start;
        float* a3 = (float*)rows[Math.Min(i0 + 3, last)] + start;
        float* b0 = (float*)rows[Math.Min(j0, last)] + start;
        float* b1 = (float*)rows[Math.Min(j0 + 1, last)] + start;
        Vector512<float> s00 = default, s01 = default, s10 = default, s11 = default;
        Vector512<float> s20 = default, s21 = default, s30 = default, s31 = default;
        int lanes = Vector512<float>.Count;
        int k = 0;
        for (; k + lanes <= length; k += lanes)
        {
            Vector512<float> y0 = Vector512.Load(b0 + k);
            Vector512<float> y1 = Vector512.Load(b1 + k);
            Vector512<float> x = Vector512.Load(a0 + k);
            s00 = Vector512.FusedMultiplyAdd(x, y0, s00);
            s01 = Vector512.FusedMultiplyAdd(x, y1, s01);
            x = Vector512.Load(a1 + k);
            s10 = Vector512.FusedMultiplyAdd(x, y0, s10);
            s11 = Vector512.FusedMultiplyAdd(x, y1, s11);
            x = Vector512.Load(a2 + k);
            s20 = Vector512.FusedMultiplyAdd(x, y0, s20);
            s21 = Vector512.FusedMultiplyAdd(x, y1, s21);
            x = Vector512.Load(a3 + k);
            s30 = Vector512.FusedMultiplyAdd(x, y0, s30);
            s31 = Vector512.FusedMultiplyAdd(x, y1, s31);
        }

        float t00 = Vector512.Sum(s00), t01 = Vector512.Sum(s01), t10 = Vector512.Sum(s10), t11 = Vector512.Sum(s11);
        float t20 = Vector512.Sum(s20), t21 = Vector512.Sum(s21), t30 = Vector512.Sum(s30), t31 = Vector512.Sum(s31);
        for (; k < length; k++)
        {
            t00 += a0[k] * b0[k];
            t01 += a0[k] * b1[k];
            t10 += a1[k] * b0[k];
            t11 += a1[k] * b1[k];
            t20 += a2[k] * b0[k];
            t21 += a2[k] * b1[k];
            t30 += a3[k] * b0[k];
            t31 += a3[k] * b1[k];
        }

        tile[0] = t00;
        tile[1] = t01;
        tile[2] = t10;
        tile[3] = t11;
        tile[4] = t20;
        tile[5] = t21;
        tile[6] = t30;
        tile[7] = t31;
    }
}
