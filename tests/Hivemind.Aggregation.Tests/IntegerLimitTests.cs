namespace Hivemind.Aggregation.Tests;

/// <summary>
/// f, m and s at the integer limits: every bound is computed without wrapping, so a huge f is refused
/// with a message naming it (before the fix, krum(f=2147483647) returned row 0, nnm(f=2^30) | mean
/// returned zeros and trimmed-mean(f=2^30) read past the end of its input).
/// </summary>
public sealed class IntegerLimitTests
{
    public static TheoryData<string> HugeF()
    {
        string[] templates = ["krum(f={0})", "multi-krum(f={0})", "bulyan(f={0})", "trimmed-mean(f={0})", "nnm(f={0}) | mean", "arc(f={0}) | median", "nnm(f={0}) | trimmed-mean(f=1)"];
        int[] values = [int.MaxValue, int.MaxValue / 2 + 1, 1 << 30, int.MaxValue / 4 + 1];
        var data = new TheoryData<string>();
        foreach (string template in templates)
        {
            foreach (int value in values)
            {
                data.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, value));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HugeF))]
    public void Huge_f_is_refused_with_its_bound(string spec)
    {
        AggregationPipeline pipeline = AggregationPipeline.Parse(spec);
        var e = Assert.Throws<AggregationConfigException>(() => pipeline.Aggregate(Data.AsMemory(Data.Gaussian(10, 16, seed: 1))));
        Assert.Contains("n=10", e.Message);
        Assert.Contains("beyond the breakdown point", e.Message);
        Assert.Contains("Lower f to at most", e.Message);
        Assert.DoesNotContain("= -", e.Message);
    }

    [Fact]
    public void Multi_krum_m_at_int_max_is_refused()
    {
        var e = Assert.Throws<AggregationConfigException>(() => AggregationPipeline.Parse($"multi-krum(f=1,m={int.MaxValue})").EnsureWithinBreakdown(10));
        Assert.Contains($"m={int.MaxValue}", e.Message);
    }

    [Fact]
    public void Bucketing_with_s_at_int_max_makes_one_bucket()
    {
        float[][] rows = Data.Gaussian(5, 8, seed: 2);
        AggregationPipeline pipeline = AggregationPipeline.Parse($"bucketing(s={int.MaxValue}) | median");
        pipeline.EnsureWithinBreakdown(5);
        float[] result = pipeline.Aggregate(Data.AsMemory(rows)).Result;
        NumericalEdgeTests.AssertClose(Float64Reference.Mean(rows), result, "one bucket of all five: its mean", NumericalEdgeTests.Magnitude(rows));
    }

    [Theory]
    [InlineData("zero")]
    [InlineData("alie")]
    [InlineData("sign-flip")]
    [InlineData("gaussian(sigma=1)")]
    [InlineData("min-max")]
    public void Attack_with_f_at_int_max_is_refused_naming_f(string kind)
    {
        float[][] honest = Data.Gaussian(5, 1000, seed: 3);
        var e = Assert.Throws<ArgumentException>(() => AttackFactory.Create(kind).Craft(Data.AsMemory(honest), int.MaxValue, new Random(0)));
        Assert.Contains($"f={int.MaxValue}", e.Message);
        Assert.Contains("lower f to at most", e.Message);
    }

    [Fact]
    public void Int_overflowing_parameters_are_parse_errors_at_the_value()
    {
        var e = Assert.Throws<SpecParseException>(() => AggregationPipeline.Parse("krum(f=2147483648)"));
        Assert.Equal(8, e.Column);
        Assert.Contains("not an integer", e.Message);
    }
}
