using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Calibration;

/// <summary>Everything `calibrate` measured: the CPU row, the raw rates, the training steps and the aggregation constants.</summary>
public sealed record CalibrationResult(
    DeviceRow Row, double MatmulGflops, double MemoryGBps, IReadOnlyList<TrainingMeasurement> Training, AggregationCosts Aggregation);

/// <summary>Measures this machine with the real code and builds its CPU row of the device table.</summary>
public static class Calibrator
{
    /// <summary>Presets whose training step is timed.</summary>
    public static readonly string[] Presets = ["tiny", "small"];

    private const int MatrixSize = 1024;

    // 32 Mi floats = 128 MiB per array, far beyond any cache.
    private const int TriadElements = 32 * 1024 * 1024;
    private const double GigaflopsPerTeraflop = 1e3;
    private const double FlopsPerGigaflop = 1e9;
    private const double BytesPerGiB = 1024.0 * 1024 * 1024;
    private const int UtilizationDigits = 5;

    /// <summary>Runs every benchmark, each for about <paramref name="budget"/>.</summary>
    public static CalibrationResult Measure(TimeSpan budget)
    {
        double gflops = MatmulBenchmark.MeasureGflops(MatrixSize, budget);
        double gbps = MemoryBandwidthBenchmark.MeasureGigabytesPerSecond(TriadElements, budget);
        var training = Presets.Select(p => TrainingBenchmark.Measure(p, budget)).ToList();
        var aggregation = AggregationBenchmark.Measure(budget);
        return new CalibrationResult(Row(gflops, gbps, training), gflops, gbps, training, aggregation);
    }

    /// <summary>The CPU row: peak = the all-core matmul rate; utilization per preset = one training thread's model FLOP/s ÷ that peak.</summary>
    /// <remarks>A CPU volunteer trains on one thread (as the faithful runner and the volunteer's default do), so the row's
    /// sustained FLOP/s (peak × utilization) is exactly the measured single-thread rate. The default utilization is the
    /// largest preset's, the closest to the models scale mode prices.</remarks>
    public static DeviceRow Row(double gflops, double gbps, IReadOnlyList<TrainingMeasurement> training)
    {
        double peak = gflops * FlopsPerGigaflop;
        var perPreset = training.ToDictionary(t => t.Preset, t => Math.Round(t.EffectiveFlops / peak, UtilizationDigits), StringComparer.Ordinal);
        string steps = string.Join("; ", training.Select(t =>
            $"{t.Preset}: {t.TokensPerSecond:F0} tokens/s = {t.EffectiveFlops / FlopsPerGigaflop:F2} GFLOP/s on 1 thread (batch {t.BatchSize} × seq {t.SequenceLength}, H={t.InnerSteps})"));
        return new DeviceRow
        {
            Name = "cpu",
            DisplayName = $"CPU ({Environment.ProcessorCount} cores, calibrated)",
            PeakBf16Tflops = Math.Round(gflops / GigaflopsPerTeraflop, UtilizationDigits),
            PeakFp32Tflops = Math.Round(gflops / GigaflopsPerTeraflop, UtilizationDigits),
            MemoryGiB = Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / BytesPerGiB, 1),
            Utilization = training.Count == 0 ? 0.5 : perPreset[training[^1].Preset],
            PresetUtilization = perPreset,
            Source = $"`calibrate`: register-blocked fp32 SIMD matmul n={MatrixSize} on {Environment.ProcessorCount} cores = {gflops:F1} GFLOP/s; "
                + $"triad {gbps:F1} GB/s; real work units (WorkUnitRunner) {steps}",
        };
    }
}
