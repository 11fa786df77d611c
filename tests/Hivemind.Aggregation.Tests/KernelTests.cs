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

    [Theory]
    [InlineData(1e30f, 0f, 1f)]
    [InlineData(1e18f, 0f, 1f)]
    [InlineData(3e38f, 0f, 1f)]
    [InlineData(1f, 1000f, 0.01f)]
    [InlineData(1f, -1e6f, 0.5f)]
    public void Gram_distances_hold_for_huge_and_offset_rows(float attack, float offset, float spread)
    {
        // 9 rows around `offset` with `spread`, two rows at ±attack·(offset-scaled) magnitude; every honest pair must
        // match the float64 distance to 1e-5 relative, every pair to 1e-5 of its own size (no ∞, no NaN, no cancellation).
        float[][] honest = Data.Gaussian(9, 1003, seed: 5, scale: spread, offset: offset);
        float[][] rows = attack == 1f
            ? honest
            : [.. honest, Enumerable.Repeat(attack, 1003).ToArray(), Enumerable.Range(0, 1003).Select(j => j % 2 == 0 ? attack : -attack).ToArray()];
        double[] expected = Reference.SquaredDistances(rows);
        foreach ((bool wide, bool? centre) in new (bool, bool?)[] { (false, null), (true, null), (true, true) })
        {
            double[] actual = GramMatrix.SquaredDistances(Data.AsMemory(rows), wide, centre);
            for (int k = 0; k < expected.Length; k++)
            {
                Assert.True(double.IsFinite(actual[k]), $"pair {k}: {actual[k]}");
                Assert.True(Math.Abs(expected[k] - actual[k]) <= 1e-5 * expected[k] + 1e-30, $"pair {k / rows.Length},{k % rows.Length}: {actual[k]} vs {expected[k]}");
            }
        }
    }

    [Fact]
    public void Offset_rows_take_the_centred_pass_and_need_it()
    {
        // 1000 ± 0.01: the plain pass loses the distances to cancellation (the defence removed), the adaptive
        // one detects it and recentres; zero-mean rows stay on the plain pass, and both passes agree there.
        float[][] offset = Data.Gaussian(12, 3000, seed: 8, scale: 0.01f, offset: 1000f);
        double[] expected = Reference.SquaredDistances(offset);
        double Worst(double[] actual) => expected.Select((e, k) => e == 0 ? 0 : Math.Abs(actual[k] - e) / e).Max();
        Assert.True(Worst(GramMatrix.SquaredDistances(Data.AsMemory(offset), centre: false)) > 1e-2);
        Assert.True(GramMatrix.Compute(Data.AsMemory(offset)).Centred);
        Assert.True(Worst(GramMatrix.SquaredDistances(Data.AsMemory(offset))) < 1e-5);

        float[][] plain = Data.Gaussian(12, 3000, seed: 9, scale: 3f);
        Assert.False(GramMatrix.Compute(Data.AsMemory(plain)).Centred);
        double[] centred = GramMatrix.SquaredDistances(Data.AsMemory(plain), centre: true);
        AssertClose(Reference.SquaredDistances(plain), centred, 12);
    }

    [Fact]
    public void Median_and_trimmed_mean_of_values_near_float_max_do_not_overflow()
    {
        // The float sum of two middle values of 3e38 overflows; those coordinates are recomputed in double.
        float[][] rows = Enumerable.Range(0, 16).Select(i => Enumerable.Range(0, 37).Select(j => (i + j) % 3 == 0 ? 3e38f : 3.3e38f).ToArray()).ToArray();
        float[] median = CoordinateWise.Median(Data.AsMemory(rows));
        float[] trimmed = CoordinateWise.TrimmedMean(Data.AsMemory(rows), 4);
        for (int j = 0; j < 37; j++)
        {
            Assert.InRange(median[j], 3e38f, 3.3e38f);
            Assert.InRange(trimmed[j], 3e38f, 3.3e38f);
        }
    }

    [Fact]
    public void Norms_and_distances_of_huge_rows_are_finite_and_exact_in_double()
    {
        float[] x = Enumerable.Range(0, 1001).Select(j => j % 2 == 0 ? float.MaxValue : -float.MaxValue).ToArray();
        float[] y = x.Select(v => -v).ToArray();
        Assert.Equal(Math.Sqrt(1001) * float.MaxValue, VectorMath.Norm(x), 1e-9 * VectorMath.Norm(x));
        Assert.Equal(2 * Math.Sqrt(1001) * float.MaxValue, VectorMath.Distance(x, y), 1e-9 * VectorMath.Distance(x, y));
    }

    [Fact]
    public void A_nan_score_or_distance_ranks_last_never_first()
    {
        // .NET sorts NaN before every number; a NaN Krum score must lose, and a NaN distance must not count as nearest.
        Assert.Equal([1, 2], Aggregators.KrumScoring.Lowest([double.NaN, 1, 2], 2));
        double[] distances =
        [
            0, double.NaN, 1, 4,
            double.NaN, 0, double.NaN, double.NaN,
            1, double.NaN, 0, 1,
            4, double.NaN, 1, 0,
        ];
        double[] scores = Aggregators.KrumScoring.Scores(distances, 4, [0, 1, 2, 3], f: 0);

        // n − f − 2 = 2 neighbours: row 0 sums 1 + 4 (not NaN + 1), row 1 only has NaN neighbours (+∞).
        Assert.Equal([5, double.PositiveInfinity, 2, 5], scores);
        Assert.Equal(2, Aggregators.KrumScoring.Lowest(scores, 1)[0]);
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
