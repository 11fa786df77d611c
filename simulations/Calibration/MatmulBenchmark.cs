using System.Diagnostics;
using System.Numerics;

namespace Hivemind.Simulations.Calibration;

/// <summary>Measures fp32 matmul GFLOP/s with a register-blocked SIMD loop over all cores.</summary>
public static class MatmulBenchmark
{
    // 4 rows × 2 vectors of C stay in registers while k runs: 8 accumulators, 2 loads of B and 4
    // broadcasts of A per 8 fused multiply-adds, which keeps the loop compute-bound rather than load-bound.
    private const int RowsPerTile = 4;
    private const int VectorsPerTile = 2;
    private const double FlopsPerMultiplyAdd = 2;
    private const double FlopsPerGigaflop = 1e9;

    /// <summary>Best GFLOP/s of C = A·B (n×n) over repetitions lasting about <paramref name="budget"/>.</summary>
    public static double MeasureGflops(int n, TimeSpan budget)
    {
        int width = Vector<float>.Count * VectorsPerTile;
        if (n % width != 0 || n % RowsPerTile != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"matrix size must be a multiple of {width} and {RowsPerTile}");
        }

        var random = new Random(1);
        float[] a = Enumerable.Range(0, n * n).Select(_ => (float)random.NextDouble()).ToArray();
        float[] b = Enumerable.Range(0, n * n).Select(_ => (float)random.NextDouble()).ToArray();
        float[] c = new float[n * n];
        double flops = FlopsPerMultiplyAdd * n * (double)n * n;
        double best = 0;
        var total = Stopwatch.StartNew();
        for (int rep = 0; rep == 0 || total.Elapsed < budget; rep++)
        {
            var watch = Stopwatch.StartNew();
            Multiply(a, b, c, n);
            best = Math.Max(best, flops / watch.Elapsed.TotalSeconds / FlopsPerGigaflop);
        }

        return best;
    }

    /// <summary>C = A·B for row-major n×n matrices.</summary>
    public static void Multiply(float[] a, float[] b, float[] c, int n)
    {
        int lanes = Vector<float>.Count;
        int width = lanes * VectorsPerTile;
        float[] panel = new float[n * width];
        for (int j = 0; j < n; j += width)
        {
            // Pack the column panel B[:, j..j+width) contiguously so the inner loop streams it
            // instead of striding a row of B per step.
            for (int k = 0; k < n; k++)
            {
                Array.Copy(b, k * n + j, panel, k * width, width);
            }

            int column = j;
            Parallel.For(0, n / RowsPerTile, tile => Tile(a, panel, c, n, tile * RowsPerTile, column));
        }
    }

    private static void Tile(float[] a, float[] panel, float[] c, int n, int i, int j)
    {
        int lanes = Vector<float>.Count;
        int width = lanes * VectorsPerTile;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int k = 0; k < n; k++)
        {
            var b0 = new Vector<float>(panel, k * width);
            var b1 = new Vector<float>(panel, k * width + lanes);
            var a0 = new Vector<float>(a[i * n + k]);
            var a1 = new Vector<float>(a[(i + 1) * n + k]);
            var a2 = new Vector<float>(a[(i + 2) * n + k]);
            var a3 = new Vector<float>(a[(i + 3) * n + k]);
            c00 = Vector.FusedMultiplyAdd(a0, b0, c00); c01 = Vector.FusedMultiplyAdd(a0, b1, c01);
            c10 = Vector.FusedMultiplyAdd(a1, b0, c10); c11 = Vector.FusedMultiplyAdd(a1, b1, c11);
            c20 = Vector.FusedMultiplyAdd(a2, b0, c20); c21 = Vector.FusedMultiplyAdd(a2, b1, c21);
            c30 = Vector.FusedMultiplyAdd(a3, b0, c30); c31 = Vector.FusedMultiplyAdd(a3, b1, c31);
        }

        c00.CopyTo(c, i * n + j); c01.CopyTo(c, i * n + j + lanes);
        c10.CopyTo(c, (i + 1) * n + j); c11.CopyTo(c, (i + 1) * n + j + lanes);
        c20.CopyTo(c, (i + 2) * n + j); c21.CopyTo(c, (i + 2) * n + j + lanes);
        c30.CopyTo(c, (i + 3) * n + j); c31.CopyTo(c, (i + 3) * n + j + lanes);
    }
}
