using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Tests;

/// <summary>Each fast path equals a plain loop written here.</summary>
public sealed class KernelTests
{
    public static TheoryData<int, int> Shapes => new()
    {
        { 1, 9 }, { 2, 8 }, { 3, 1 }, { 5, 17 }, { 16, 1000 }, { 25, 333 }, { 64, 130 }, { 65, 16384 + 13 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Median_equals_sort_per_coordinate_exactly(int n, int d)
    {
        float[][] rows = Data.Gaussian(n, d, seed: n * 1000 + d);

        // Exact: both sort the same floats and the even-n middle pair is averaged the same way.
        Assert.Equal(Reference.Median(rows), CoordinateWise.Median(Data.AsMemory(rows)));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Trimmed_mean_equals_sort_per_coordinate_exactly(int n, int d)
    {
        float[][] rows = Data.Gaussian(n, d, seed: n * 7 + d);
        int f = (n - 1) / 2 / 2;

        // Exact: the network leaves the kept values in ascending order and both sum them in that order.
        Assert.Equal(Reference.TrimmedMean(rows, f), CoordinateWise.TrimmedMean(Data.AsMemory(rows), f));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Avx2_and_avx512_paths_agree_exactly(int n, int d)
    {
        float[][] rows = Data.Gaussian(n, d, seed: n + 3 * d);
        int f = (n - 1) / 4;
        var memory = Data.AsMemory(rows);
        Assert.Equal(
            CoordinateWise.SortedRangeMean(memory, f, n - f - 1, wide: false),
            CoordinateWise.SortedRangeMean(memory, f, n - f - 1, wide: true));
    }

    [Theory]
    [InlineData(2, 5)]
    [InlineData(7, 2048 * 3 + 5)]
    [InlineData(16, 4099)]
    [InlineData(33, 100)]
    public void Gram_distances_equal_naive_pairwise_loop(int n, int d)
    {
        float[][] rows = Data.Gaussian(n, d, seed: n + d, scale: 3f, offset: 0.5f);
        double[] expected = Reference.SquaredDistances(rows);
        foreach (bool wide in new[] { false, true })
        {
            AssertClose(expected, GramMatrix.SquaredDistances(Data.AsMemory(rows), wide), n);
        }
    }

    private static void AssertClose(double[] expected, double[] actual, int n)
    {
        for (int k = 0; k < expected.Length; k++)
        {
            // Float partial dots inside a block: relative error measured below 2e-6 of the distance; 1e-5 allowed.
            Assert.True(Math.Abs(expected[k] - actual[k]) <= 1e-5 * Math.Max(1, expected[k]), $"pair {k / n},{k % n}: {actual[k]} vs {expected[k]}");
        }
    }

    [Fact]
    public void Weighted_sum_equals_plain_loop()
    {
        float[][] rows = Data.Gaussian(9, 5000, seed: 3);
        float[] coefficients = [0.1f, 0.2f, 0f, 0.05f, 0.15f, 0.1f, 0.1f, 0.1f, 0.2f];
        float[] actual = WeightedSum.Compute(Data.AsMemory(rows), coefficients);
        for (int j = 0; j < actual.Length; j++)
        {
            double expected = 0;
            for (int i = 0; i < rows.Length; i++)
            {
                expected += coefficients[i] * rows[i][j];
            }

            Assert.Equal(expected, actual[j], 1e-6);
        }
    }

    [Fact]
    public void Pruned_network_for_median_is_smaller_than_full_sort()
    {
        int full = SortingNetwork.For(64, 0, 63).Length / 2;
        int median = SortingNetwork.For(64, 31, 32).Length / 2;

        // Batcher's network for 64 wires has 543 comparators.
        Assert.Equal(543, full);
        Assert.True(median < full, $"median network {median} comparators, full {full}");
    }

    /// <summary>Input counts the generated straight-line networks cover (16, 32, 64), their neighbours (generic network), odd d and d past one parallel chunk.</summary>
    public static TheoryData<int, int> UnrolledShapes => new()
    {
        { 16, 31 }, { 16, 16384 + 77 }, { 32, 1 }, { 32, 501 }, { 64, 15 }, { 64, 1001 }, { 64, 16384 * 2 + 9 }, { 63, 333 }, { 65, 1001 },
    };

    [Theory]
    [MemberData(nameof(UnrolledShapes))]
    public void Unrolled_networks_equal_sort_per_coordinate_for_every_kept_range(int n, int d)
    {
        float[][] rows = Data.Gaussian(n, d, seed: 11 * n + d, scale: 2f, offset: -0.25f);
        var memory = Data.AsMemory(rows);
        var ranges = new List<(int Lo, int Hi)> { ((n - 1) / 2, n / 2), (0, n - 1), (n / 4, n - n / 4 - 1), ((n - 1) / 4, n - (n - 1) / 4 - 1), (1, n - 2), (3, n / 2 + 1), (n / 2 - 1, n / 2 - 1), (n - 1, n - 1) };
        foreach ((int lo, int hi) in ranges)
        {
            float[] expected = Reference.SortedRangeMean(rows, lo, hi);
            foreach (bool wide in new[] { false, true })
            {
                Assert.Equal(expected, CoordinateWise.SortedRangeMean(memory, lo, hi, wide));
            }
        }
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(64)]
    public void Unrolled_median_holds_with_ties_and_extremes(int n)
    {
        const int d = 16 * 5 + 3;
        var rng = new Random(n);
        float[][] rows = Enumerable.Range(0, n)
            .Select(i => Enumerable.Range(0, d).Select(j => (i + j) % 5 == 0 ? (i % 2 == 0 ? 1e9f : -1e9f) : (float)rng.Next(-3, 4)).ToArray())
            .ToArray();
        Assert.Equal(Reference.Median(rows), CoordinateWise.Median(Data.AsMemory(rows)));
        Assert.Equal(Reference.TrimmedMean(rows, n / 4), CoordinateWise.TrimmedMean(Data.AsMemory(rows), n / 4));
    }
}
