using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Calibration;

/// <summary>Measures this machine and writes its CPU row of the device table.</summary>
public static class Calibrator
{
    private const int MatrixSize = 1024;

    // 32 Mi floats = 128 MiB per array, far beyond any cache.
    private const int TriadElements = 32 * 1024 * 1024;
    private const double GigaflopsPerTeraflop = 1e3;
    private const double BytesPerGiB = 1024.0 * 1024 * 1024;

    // A CPU training step reaches a fraction of the matmul rate (attention, norms, optimizer); to be
    // replaced by a measured step time once `calibrate` drives the training engine.
    private const double AssumedTrainingUtilization = 0.5;

    /// <summary>Runs both benchmarks, each for about <paramref name="budget"/>.</summary>
    public static (DeviceRow Row, double MatmulGflops, double MemoryGBps) Measure(TimeSpan budget)
    {
        double gflops = MatmulBenchmark.MeasureGflops(MatrixSize, budget);
        double gbps = MemoryBandwidthBenchmark.MeasureGigabytesPerSecond(TriadElements, budget);
        double memoryGiB = Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / BytesPerGiB, 1);
        var row = new DeviceRow
        {
            Name = "cpu",
            DisplayName = $"CPU ({Environment.ProcessorCount} cores, calibrated)",
            PeakBf16Tflops = Math.Round(gflops / GigaflopsPerTeraflop, 4),
            PeakFp32Tflops = Math.Round(gflops / GigaflopsPerTeraflop, 4),
            MemoryGiB = memoryGiB,
            Utilization = AssumedTrainingUtilization,
            Source = $"`calibrate`: register-blocked fp32 SIMD matmul n={MatrixSize} on {Environment.ProcessorCount} cores = {gflops:F1} GFLOP/s; "
                + $"triad memory bandwidth {gbps:F1} GB/s; utilization assumed until the training step is calibrated",
        };
        return (row, gflops, gbps);
    }
}
