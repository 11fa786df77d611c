namespace Hivemind.Simulations.Timing;

/// <summary>The robust aggregators whose cost the scale mode models (names match src/Aggregation).</summary>
public enum AggregationRule
{
    /// <summary>Plain mean.</summary>
    Mean,

    /// <summary>Coordinate-wise median.</summary>
    Median,

    /// <summary>Coordinate-wise trimmed mean.</summary>
    TrimmedMean,

    /// <summary>Krum (pairwise distances: quadratic in the number of inputs).</summary>
    Krum,

    /// <summary>Geometric median by smoothed Weiszfeld iterations.</summary>
    GeometricMedian,

    /// <summary>Centered clipping, a few iterations.</summary>
    CenteredClipping,
}
