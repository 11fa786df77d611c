namespace Hivemind.Simulations.Timing;

/// <summary>Coordinator time to aggregate: a per-rule constant × elements × inputs^exponent, spread over cores.</summary>
public static class AggregationCost
{
    private const double SecondsPerNanosecond = 1e-9;

    /// <summary>Nanoseconds per element per input (per input pair for Krum) on one core, and the input exponent.</summary>
    /// <remarks>
    /// Estimates until `calibrate` times the real aggregators in src/Aggregation: the mean is a memory-bound
    /// stream (4 bytes read at ~13 GB/s ≈ 0.3 ns); the median and trimmed mean a per-coordinate selection;
    /// Krum one multiply-add per element per pair; geometric median and centered clipping a few mean-like passes.
    /// </remarks>
    public static (double NanosecondsPerElementInput, int InputExponent) Constants(AggregationRule rule) => rule switch
    {
        AggregationRule.Mean => (0.3, 1),
        AggregationRule.Median => (3.0, 1),
        AggregationRule.TrimmedMean => (3.0, 1),
        AggregationRule.Krum => (0.6, 2),
        AggregationRule.GeometricMedian => (3.0, 1),
        AggregationRule.CenteredClipping => (1.5, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "unknown aggregation rule"),
    };

    /// <summary>Seconds to aggregate <paramref name="elements"/> values from <paramref name="inputs"/> updates on <paramref name="cores"/> cores.</summary>
    public static double Seconds(AggregationRule rule, long elements, double inputs, int cores)
    {
        if (inputs <= 0)
        {
            return 0;
        }

        var (ns, exponent) = Constants(rule);
        return ns * elements * Math.Pow(inputs, exponent) * SecondsPerNanosecond / cores;
    }
}
