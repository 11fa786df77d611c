using Hivemind.Simulations.Calibration;

namespace Hivemind.Simulations.Timing;

/// <summary>Coordinator time to aggregate: a per-rule constant × elements × inputs^exponent, spread over cores.</summary>
public static class AggregationCost
{
    /// <summary>Built-in estimates, used only when no aggregation-costs.json is found next to the binary.</summary>
    /// <remarks>
    /// The mean is a memory-bound stream (4 bytes read at ~13 GB/s ≈ 0.3 ns); the median and trimmed mean a per-coordinate
    /// selection; Krum one multiply-add per element per pair; geometric median and centered clipping a few mean-like passes.
    /// `calibrate` replaces them with times of the real src/Aggregation pipelines.
    /// </remarks>
    public static AggregationCosts Estimates { get; } = new()
    {
        Source = "built-in estimates (no aggregation-costs.json found)",
        Rules = new Dictionary<string, AggregationConstant>(StringComparer.Ordinal)
        {
            ["mean"] = new(0.3, 1),
            ["median"] = new(3.0, 1),
            ["trimmed-mean"] = new(3.0, 1),
            ["krum"] = new(0.6, 2),
            ["geometric-median"] = new(3.0, 1),
            ["centered-clipping"] = new(1.5, 1),
        },
    };

    /// <summary>Seconds to aggregate <paramref name="elements"/> values from <paramref name="inputs"/> updates on <paramref name="cores"/> cores, with the constants in use.</summary>
    public static double Seconds(AggregationRule rule, long elements, double inputs, int cores) =>
        CalibrationFiles.Aggregation.Seconds(rule, elements, inputs, cores);
}
