using Hivemind.Aggregation.Aggregators;
using Hivemind.Aggregation.PreAggregators;

namespace Hivemind.Aggregation.Tests;

/// <summary>
/// Every rule against its independent float64 implementation (<see cref="Float64Reference"/>) on random
/// rows and on offset rows (1000 ± 0.01, where float Gram cancellation used to scramble the ranking).
/// Selections (Krum, Multi-Krum, NNM neighbours) must match exactly; values within float rounding.
/// </summary>
public sealed class DifferentialTests
{
    public static TheoryData<string, int, int, bool> Cases()
    {
        string[] rules = ["mean", "median", "trimmed-mean", "krum", "multi-krum", "multi-krum-m3", "bulyan", "geomed", "cclip", "nnm", "clip"];
        var data = new TheoryData<string, int, int, bool>();
        foreach (string rule in rules)
        {
            foreach ((int n, int d) in new[] { (11, 33), (15, 2500) })
            {
                data.Add(rule, n, d, false);
                data.Add(rule, n, d, true);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_float64_reference(string rule, int n, int d, bool offset)
    {
        const int f = 2;
        float[][] rows = offset
            ? Data.Gaussian(n, d, seed: n * 31 + d, scale: 0.01f, offset: 1000f)
            : Data.Gaussian(n, d, seed: n * 31 + d, scale: 2f);
        IReadOnlyList<ReadOnlyMemory<float>> memory = Data.AsMemory(rows);
        string context = $"{rule}, n={n}, d={d}{(offset ? ", offset rows" : "")}";
        double scale = NumericalEdgeTests.Magnitude(rows);
        switch (rule)
        {
            case "mean":
                NumericalEdgeTests.AssertClose(Float64Reference.Mean(rows), new MeanAggregator().Aggregate(memory, default), context, scale);
                break;
            case "median":
                NumericalEdgeTests.AssertClose(Float64Reference.Median(rows), new MedianAggregator().Aggregate(memory, default), context, scale);
                break;
            case "trimmed-mean":
                NumericalEdgeTests.AssertClose(Float64Reference.TrimmedMean(rows, f), new TrimmedMeanAggregator(f).Aggregate(memory, default), context, scale);
                break;
            case "krum":
                Assert.Equal(rows[Float64Reference.MultiKrumChoice(rows, f, 1)[0]], new KrumAggregator(f).Aggregate(memory, default));
                break;
            case "multi-krum":
                NumericalEdgeTests.AssertClose(Float64Reference.MultiKrum(rows, f, n - f), new MultiKrumAggregator(f).Aggregate(memory, default), context, scale);
                break;
            case "multi-krum-m3":
                NumericalEdgeTests.AssertClose(Float64Reference.MultiKrum(rows, f, 3), new MultiKrumAggregator(f, 3).Aggregate(memory, default), context, scale);
                break;
            case "bulyan":
                NumericalEdgeTests.AssertClose(Float64Reference.Bulyan(rows, f), new BulyanAggregator(f).Aggregate(memory, default), context, scale);
                break;
            case "geomed":
            {
                var geomed = new GeometricMedianAggregator();
                float[] result = geomed.Aggregate(memory, default);
                Assert.True(geomed.LastConverged, $"{context}: stopped after {geomed.LastIterations} iterations");
                double[] expected = Float64Reference.GeometricMedian(rows);
                double radius = NumericalEdgeTests.HonestRadius(rows, Float64Reference.Mean(rows));

                // Tolerance 1e-6 of the median distance, float output: measured ≤ 2e-6 of the radius.
                double distance = Float64Reference.Distance(expected, result);
                double ulps = 16 * Math.Sqrt(d) * (MathF.BitIncrement(offset ? 1000f : 1f) - (offset ? 1000f : 1f));
                Assert.True(distance <= 1e-4 * radius + ulps, $"{context}: {distance:G4} from the float64 geometric median (radius {radius:G4})");
                break;
            }

            case "cclip":
            {
                double tau = offset ? 0.05 : 0.5;
                float[] result = new CenteredClippingAggregator(tau, 3).Aggregate(memory, default);
                NumericalEdgeTests.AssertClose(Float64Reference.CenteredClipping(rows, tau, 3), result, context, scale, relative: 1e-5);
                break;
            }

            case "nnm":
            {
                float[][] mixed = new NearestNeighborMixing(f).Transform(memory).Select(r => r.ToArray()).ToArray();
                float[][] expected = Float64Reference.NearestNeighbourMixing(rows, f);
                for (int i = 0; i < n; i++)
                {
                    NumericalEdgeTests.AssertClose(expected[i].Select(v => (double)v).ToArray(), mixed[i], $"{context}, row {i}", scale);
                }

                break;
            }

            case "clip":
            {
                double tau = offset ? 100 : 5;
                IReadOnlyList<ReadOnlyMemory<float>> clipped = new StaticClipping(tau).Transform(memory);
                for (int i = 0; i < n; i++)
                {
                    NumericalEdgeTests.AssertClose(Float64Reference.Clip(rows[i], tau), clipped[i].ToArray(), $"{context}, row {i}", scale);
                }

                break;
            }

            default:
                throw new InvalidOperationException($"no reference for {rule}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(21)]
    public void Bulyans_last_step_is_the_papers_closest_to_the_median_not_a_trimmed_mean(int d)
    {
        // Skewed column 0, 0, 0, 1, 10, 11, 12 with β = 3: the median is 1, the 3 closest are 0, 0, 1 (mean 1/3),
        // while a trimmed mean would keep the middle ranks 0, 1, 10 (mean 11/3). Columns are shifted by j and
        // the rows permuted so every SIMD lane and the scalar tail see it.
        float[] column = [0, 0, 0, 1, 10, 11, 12];
        float[][] rows = Enumerable.Range(0, column.Length)
            .Select(i => Enumerable.Range(0, d).Select(j => column[(i + j) % column.Length] + j).ToArray())
            .ToArray();
        float[] result = Kernels.ClosestToMedian.Mean(Data.AsMemory(rows), 3);
        for (int j = 0; j < d; j++)
        {
            Assert.Equal(1f / 3 + j, result[j], 5);
        }
    }
}
