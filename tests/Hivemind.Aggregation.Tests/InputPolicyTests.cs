namespace Hivemind.Aggregation.Tests;

/// <summary>The stated input policy: what is rejected, with which reason, and what is refused outright.</summary>
public sealed class InputPolicyTests
{
    [Fact]
    public void Rejects_wrong_length_empty_and_non_finite_inputs_with_reasons()
    {
        float[][] good = Data.Gaussian(5, 10, seed: 1);
        float[] nan = (float[])good[0].Clone();
        nan[7] = float.NaN;
        float[] inf = (float[])good[1].Clone();
        inf[9] = float.NegativeInfinity;
        float[][] inputs = [good[0], [], good[1], new float[11], nan, good[2], inf, good[3], good[4]];

        AggregationOutcome outcome = AggregationPipeline.Parse("median").Aggregate(Data.AsMemory(inputs));

        Assert.Equal(Reference.Median(good), outcome.Result);
        Assert.Equal([1, 3, 4, 6], outcome.Rejected.Select(r => r.Index));
        Assert.Contains("empty", outcome.Rejected[0].Reason);
        Assert.Contains("length 11, expected 10", outcome.Rejected[1].Reason);
        Assert.Contains("NaN at coordinate 7", outcome.Rejected[2].Reason);
        Assert.Contains("-∞ at coordinate 9", outcome.Rejected[3].Reason.Replace("-Infinity", "-∞"));
    }

    [Fact]
    public void Rejects_bad_weights_and_keeps_the_rest()
    {
        float[][] rows = [[1f], [2f], [100f]];
        AggregationOutcome outcome = AggregationPipeline.Parse("mean").Aggregate(Data.AsMemory(rows), [1, 1, -3]);
        Assert.Equal([1.5f], outcome.Result);
        Assert.Equal(2, Assert.Single(outcome.Rejected).Index);
    }

    [Fact]
    public void Nothing_usable_throws_with_every_reason()
    {
        var e = Assert.Throws<AggregationInputException>(() => AggregationPipeline.Parse("mean").Aggregate(Data.AsMemory([[float.NaN], []])));
        Assert.Equal(2, e.Rejected.Count);
        Assert.Contains("input 0", e.Message);
        Assert.Contains("input 1", e.Message);
        Assert.Throws<AggregationInputException>(() => AggregationPipeline.Parse("mean").Aggregate([]));
    }

    [Fact]
    public void Too_few_inputs_after_filtering_is_refused_not_degraded()
    {
        float[][] rows = Data.Gaussian(5, 4, seed: 2);
        rows[0][0] = float.PositiveInfinity;
        var e = Assert.Throws<AggregationConfigException>(() => AggregationPipeline.Parse("trimmed-mean(f=2)").Aggregate(Data.AsMemory(rows)));
        Assert.Contains("n=4", e.Message);
    }

    [Fact]
    public void Finds_the_first_non_finite_coordinate_in_long_vectors()
    {
        var x = new float[1003];
        Assert.Equal(-1, Policy.InputPolicy.FirstNonFinite(x));
        x[1001] = float.NaN;
        x[555] = float.PositiveInfinity;
        Assert.Equal(555, Policy.InputPolicy.FirstNonFinite(x));
    }
}
