using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Faithful;

/// <summary>Modelled aggregation seconds of a full spec ("nnm(f=1) | cclip(tau=1)"): the sum of its stages' costs.</summary>
public static class SpecCost
{
    /// <summary>Seconds for one tensor group of <paramref name="elements"/> values from <paramref name="inputs"/> updates.</summary>
    /// <remarks>
    /// Stages map to the scale mode's cost rules: NNM and Krum-family rules compute pairwise distances (quadratic in the inputs),
    /// Bulyan adds a coordinate-wise selection, clipping and bucketing are mean-like passes. Deterministic on purpose:
    /// the measured wall time of the real aggregation goes to wall-times.csv, never into report.md.
    /// </remarks>
    public static double Seconds(string spec, long elements, int inputs, int cores)
    {
        double total = 0;
        foreach (string stage in spec.Split('|'))
        {
            string name = stage.Trim().Split('(')[0].Trim();
            foreach (var rule in Rules(name))
            {
                total += AggregationCost.Seconds(rule, elements, inputs, cores);
            }
        }

        return total;
    }

    private static AggregationRule[] Rules(string stage) => stage switch
    {
        "mean" or "clip" or "arc" or "bucketing" => [AggregationRule.Mean],
        "median" => [AggregationRule.Median],
        "trimmed-mean" => [AggregationRule.TrimmedMean],
        "krum" or "multi-krum" or "nnm" => [AggregationRule.Krum],
        "bulyan" => [AggregationRule.Krum, AggregationRule.TrimmedMean],
        "geomed" => [AggregationRule.GeometricMedian],
        "cclip" => [AggregationRule.CenteredClipping],
        _ => throw new ArgumentException($"aggregation stage '{stage}' has no cost rule; use a stage of src/Aggregation (mean, median, trimmed-mean, krum, multi-krum, geomed, cclip, bulyan, nnm, bucketing, clip, arc)", nameof(stage)),
    };
}
