namespace Hivemind.Aggregation.Tests;

/// <summary>Each rule refuses a configuration beyond its breakdown point, naming n, f and the bound.</summary>
public sealed class BreakdownTests
{
    [Theory]
    [InlineData("trimmed-mean(f=2)", 4, 5)]
    [InlineData("krum(f=2)", 6, 7)]
    [InlineData("multi-krum(f=1,m=2)", 4, 5)]
    [InlineData("bulyan(f=2)", 10, 11)]
    [InlineData("nnm(f=3) | median", 6, 7)]
    [InlineData("arc(f=1) | mean", 2, 3)]
    public void Refuses_below_and_accepts_at_the_bound(string spec, int refused, int accepted)
    {
        AggregationPipeline pipeline = AggregationPipeline.Parse(spec);
        var e = Assert.Throws<AggregationConfigException>(() => pipeline.Aggregate(Data.AsMemory(Data.Gaussian(refused, 8, seed: 1))));
        Assert.Contains($"n={refused}", e.Message);
        Assert.Contains("f=", e.Message);
        Assert.Contains($"n >= {accepted}", e.Message);
        Assert.Equal(8, pipeline.Aggregate(Data.AsMemory(Data.Gaussian(accepted, 8, seed: 1))).Result.Length);
    }

    [Fact]
    public void Multi_krum_refuses_m_above_n_minus_f()
    {
        var e = Assert.Throws<AggregationConfigException>(() => AggregationPipeline.Parse("multi-krum(f=2,m=9)").EnsureWithinBreakdown(10));
        Assert.Contains("m=9", e.Message);
        Assert.Contains("n-f = 10-2 = 8", e.Message);
    }

    [Fact]
    public void Bucketing_checks_the_aggregator_against_the_bucket_count()
    {
        // 12 inputs in buckets of 3 leave 4 bucket means: trimmed-mean(f=2) needs 5.
        var e = Assert.Throws<AggregationConfigException>(() => AggregationPipeline.Parse("bucketing(s=3) | trimmed-mean(f=2)").EnsureWithinBreakdown(12));
        Assert.Contains("n=4", e.Message);
    }
}
