using Hivemind.Aggregation.PreAggregators;

namespace Hivemind.Aggregation.Tests;

/// <summary>Pre-aggregators against plain loops and their definitions.</summary>
public sealed class PreAggregatorTests
{
    [Fact]
    public void Nnm_replaces_each_input_by_the_mean_of_its_n_minus_f_nearest()
    {
        float[][] rows = Data.Gaussian(11, 70, seed: 12);
        const int f = 3;
        IReadOnlyList<ReadOnlyMemory<float>> mixed = new NearestNeighborMixing(f).Transform(Data.AsMemory(rows));
        double[] distances = Reference.SquaredDistances(rows);
        for (int i = 0; i < rows.Length; i++)
        {
            float[][] nearest = Enumerable.Range(0, rows.Length).OrderBy(j => distances[i * rows.Length + j]).Take(rows.Length - f).Select(j => rows[j]).ToArray();
            float[] expected = Reference.Mean(nearest);
            float[] actual = mixed[i].ToArray();
            for (int k = 0; k < expected.Length; k++)
            {
                // float accumulation of 8 terms vs double reference; measured below 2e-7.
                Assert.Equal(expected[k], actual[k], 1e-6);
            }
        }
    }

    [Fact]
    public void Clip_scales_only_inputs_above_tau_to_norm_tau()
    {
        float[][] rows = [[3f, 4f], [0.3f, 0.4f]];
        IReadOnlyList<ReadOnlyMemory<float>> clipped = new StaticClipping(1).Transform(Data.AsMemory(rows));
        Assert.Equal([0.6f, 0.8f], clipped[0].ToArray());
        Assert.Equal([0.3f, 0.4f], clipped[1].ToArray());
    }

    [Fact]
    public void Arc_clips_the_k_largest_to_the_next_norm()
    {
        // n=10, f=2: k = floor(2 * 2/10 * 8) = 3; norms 1..10, so 10, 9, 8 are clipped to 7.
        float[][] rows = Enumerable.Range(1, 10).Select(v => new[] { (float)v, 0f }).ToArray();
        float[] norms = new AdaptiveRobustClipping(2).Transform(Data.AsMemory(rows)).Select(r => r.Span[0]).ToArray();
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f, 7f, 7f, 7f, 7f], norms);
    }

    [Fact]
    public void Bucketing_outputs_bucket_means_that_preserve_the_overall_mean()
    {
        float[][] rows = Data.Gaussian(10, 16, seed: 4);
        IReadOnlyList<ReadOnlyMemory<float>> buckets = new Bucketing(4, seed: 1).Transform(Data.AsMemory(rows));
        Assert.Equal(3, buckets.Count);

        // Buckets of 4, 4, 2: weighting each bucket mean by its size gives back the plain mean.
        float[] expected = Reference.Mean(rows);
        for (int k = 0; k < 16; k++)
        {
            double total = 4 * buckets[0].Span[k] + 4 * buckets[1].Span[k] + 2 * buckets[2].Span[k];
            Assert.Equal(expected[k], total / 10, 1e-6);
        }
    }
}
