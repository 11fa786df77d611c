namespace Hivemind.Aggregation.Tests;

/// <summary>The spec grammar, its canonical form and errors that point at the bad token.</summary>
public sealed class SpecTests
{
    [Theory]
    [InlineData("nnm(f=2)|trimmed-mean(f=2)", "nnm(f=2) | trimmed-mean(f=2)")]
    [InlineData("  MEDIAN ", "median")]
    [InlineData("multi-krum(f=1)", "multi-krum(f=1)")]
    [InlineData("bucketing(s=2) | cclip(tau=0.5)", "bucketing(s=2,seed=0) | cclip(tau=0.5,iters=1)")]
    [InlineData("arc(f=1) | clip(tau=3) | geomed()", "arc(f=1) | clip(tau=3) | geomed(nu=1E-06,iters=1000,tol=1E-06)")]
    public void Parses_to_canonical_spec(string spec, string canonical) =>
        Assert.Equal(canonical, AggregationPipeline.Parse(spec).Spec);

    [Theory]
    [InlineData("nnm(f=2) | trimed-mean(f=2)", 12, "unknown rule \"trimed-mean\"")]
    [InlineData("trimmed-mean(f=x)", 16, "not an integer")]
    [InlineData("trimmed-mean(g=2)", 1, "missing parameter f=")]
    [InlineData("krum(f=1, g=2)", 11, "unknown parameter \"g\"")]
    [InlineData("median | nnm(f=1)", 1, "must be the last stage")]
    [InlineData("nnm(f=1)", 1, "must end with an aggregator")]
    [InlineData("krum(f=1", 9, "expected \",\" or \")\"")]
    [InlineData("mean |", 7, "expected a rule name")]
    [InlineData("trimmed-mean(f=-1)", 16, "f=-1 must be >= 0")]
    [InlineData("krum(f=-1)", 8, "f=-1 must be >= 0")]
    [InlineData("cclip(tau=-1)", 11, "tau=-1 must be a finite number > 0")]
    [InlineData("cclip(tau=1, beta=1.5)", 19, "beta=1.5 must be in [0, 1)")]
    [InlineData("geomed(iters=0)", 14, "iters=0 must be >= 1")]
    [InlineData("multi-krum(f=1,m=0)", 18, "m=0 must be >= 1")]
    [InlineData("bucketing(s=0) | mean", 13, "s=0 must be >= 1")]
    [InlineData("nnm(f=-2) | mean", 7, "f=-2 must be >= 0")]
    [InlineData("clip(tau=0) | mean", 10, "tau=0 must be a finite number > 0")]
    [InlineData("median median", 8, "expected \"|\"")]
    public void Errors_point_at_the_bad_token(string spec, int column, string problem)
    {
        var e = Assert.Throws<SpecParseException>(() => AggregationPipeline.Parse(spec));
        Assert.Equal(column, e.Column);
        Assert.Contains(problem, e.Message);
        Assert.Contains(spec, e.Message);
    }
}
