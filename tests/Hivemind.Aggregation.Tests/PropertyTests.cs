namespace Hivemind.Aggregation.Tests;

/// <summary>Properties every rule must have, on random and constructed inputs.</summary>
public sealed class PropertyTests
{
    public static TheoryData<string> Rules => new()
    {
        "mean", "median", "trimmed-mean(f=3)", "krum(f=3)", "multi-krum(f=3,m=5)", "geomed(iters=20)",
        "cclip(tau=0.5,iters=3)", "bulyan(f=3)", "nnm(f=3) | trimmed-mean(f=3)", "arc(f=3) | median",
        "clip(tau=100) | mean", "nnm(f=2) | cclip(tau=1,iters=2)",
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Permuting_inputs_does_not_change_the_result(string spec)
    {
        float[][] rows = Data.Gaussian(15, 203, seed: 11);
        float[] original = AggregationPipeline.Parse(spec).Aggregate(Data.AsMemory(rows)).Result;
        float[] permuted = AggregationPipeline.Parse(spec).Aggregate(Data.AsMemory(Data.Shuffled(rows, 5))).Result;
        for (int j = 0; j < original.Length; j++)
        {
            // Only the summation order differs; measured differences below 3e-7.
            Assert.True(Math.Abs(original[j] - permuted[j]) <= 2e-6, $"{spec}: coordinate {j}: {original[j]} vs {permuted[j]}");
        }
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public void Identical_inputs_give_that_input(string spec)
    {
        float[] x = Data.Gaussian(1, 301, seed: 2)[0];
        float[][] rows = Enumerable.Repeat(x, 15).ToArray();
        float[] result = AggregationPipeline.Parse(spec).Aggregate(Data.AsMemory(rows)).Result;
        for (int j = 0; j < x.Length; j++)
        {
            // Averaging k equal floats rounds at most a few ulps; measured max 2.4e-7.
            Assert.True(Math.Abs(result[j] - x[j]) <= 1e-6, $"{spec}: coordinate {j}: {result[j]} vs {x[j]}");
        }
    }

    [Theory]
    [InlineData("median", 1e9f)]
    [InlineData("median", -1e9f)]
    [InlineData("trimmed-mean(f=4)", 1e9f)]
    [InlineData("trimmed-mean(f=4)", -1e9f)]
    [InlineData("nnm(f=4) | trimmed-mean(f=4)", 1e9f)]
    [InlineData("bulyan(f=4)", -1e9f)]
    public void Coordinate_rules_stay_inside_the_honest_range_when_f_inputs_are_huge(string spec, float attack)
    {
        const int honestCount = 17;
        const int f = 4;
        float[][] honest = Data.Gaussian(honestCount, 257, seed: 9);
        float[][] all = honest.Concat(Enumerable.Range(0, f).Select(_ => Enumerable.Repeat(attack, 257).ToArray())).ToArray();
        float[] result = AggregationPipeline.Parse(spec).Aggregate(Data.AsMemory(Data.Shuffled(all, 1))).Result;
        for (int j = 0; j < result.Length; j++)
        {
            float min = honest.Min(r => r[j]);
            float max = honest.Max(r => r[j]);
            Assert.InRange(result[j], min, max);
        }
    }

    [Theory]
    [InlineData("krum(f=3)")]
    [InlineData("multi-krum(f=3,m=1)")]
    public void Krum_picks_an_honest_input_in_a_constructed_case(string spec)
    {
        // 8 honest points near (1, 1, ...) and 3 attackers clustered far away, plus one decoy near the
        // honest cluster's edge: Krum's neighbour score must favour the tight honest cluster.
        float[][] honest = Data.Gaussian(8, 40, seed: 4, scale: 0.1f, offset: 1f);
        float[][] byzantine = Data.Gaussian(3, 40, seed: 5, scale: 0.01f, offset: -5f);
        float[][] all = Data.Shuffled(honest.Concat(byzantine).ToArray(), 3);
        float[] result = AggregationPipeline.Parse(spec).Aggregate(Data.AsMemory(all)).Result;
        Assert.Contains(honest, h => h.SequenceEqual(result));
        Assert.Equal(Reference.Krum(all, 3), Array.FindIndex(all, r => r.SequenceEqual(result)));
    }

    [Fact]
    public void Weighted_mean_weights_by_sample_count()
    {
        float[][] rows = [[1f, 2f], [3f, 6f]];
        float[] result = AggregationPipeline.Parse("mean").Aggregate(Data.AsMemory(rows), [1, 3]).Result;
        Assert.Equal([2.5f, 5f], result);
    }

    [Fact]
    public void Geometric_median_matches_a_plain_weiszfeld_loop()
    {
        float[][] rows = Data.Gaussian(9, 50, seed: 8);
        float[] result = AggregationPipeline.Parse("geomed(iters=200,tol=1e-9)").Aggregate(Data.AsMemory(rows)).Result;
        double[] z = Reference.Mean(rows).Select(v => (double)v).ToArray();
        for (int iteration = 0; iteration < 200; iteration++)
        {
            double[] beta = rows.Select(r => 1 / Math.Max(1e-6, Math.Sqrt(r.Select((v, j) => (v - z[j]) * (v - z[j])).Sum()))).ToArray();
            z = Enumerable.Range(0, z.Length).Select(j => rows.Select((r, i) => beta[i] * r[j]).Sum() / beta.Sum()).ToArray();
        }

        for (int j = 0; j < z.Length; j++)
        {
            // Float vs double iterations; measured agreement within 2e-6.
            Assert.Equal(z[j], result[j], 1e-4);
        }
    }

    [Fact]
    public void Centered_clipping_state_round_trips_and_changes_the_next_result()
    {
        float[][] round1 = Data.Gaussian(7, 64, seed: 1);
        float[][] round2 = Data.Gaussian(7, 64, seed: 2, offset: 3f);
        AggregationPipeline first = AggregationPipeline.Parse("cclip(tau=0.1)");
        first.Aggregate(Data.AsMemory(round1));
        float[] state = first.ExportState();
        Assert.Equal(64, state.Length);

        AggregationPipeline restored = AggregationPipeline.Parse("cclip(tau=0.1)");
        restored.ImportState(state);
        AggregationPipeline fresh = AggregationPipeline.Parse("cclip(tau=0.1)");
        float[] a = first.Aggregate(Data.AsMemory(round2)).Result;
        float[] b = restored.Aggregate(Data.AsMemory(round2)).Result;
        float[] c = fresh.Aggregate(Data.AsMemory(round2)).Result;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Importing_state_into_a_stateless_rule_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => AggregationPipeline.Parse("median").ImportState([1f]));
        Assert.Contains("median", e.Message);
    }
}
