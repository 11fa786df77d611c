namespace Hivemind.Simulations.Timing;

/// <summary>One row of the device table: peak dense throughput, memory, the fraction of peak training reaches, and the source.</summary>
/// <param name="Name">Short key used in scenarios (e.g. "a100").</param>
/// <param name="DisplayName">Name for reports.</param>
/// <param name="PeakBf16Tflops">Peak dense fp16/bf16 tensor throughput with fp32 accumulate, no sparsity.</param>
/// <param name="PeakFp32Tflops">Peak dense fp32 throughput (no TF32).</param>
/// <param name="MemoryGiB">Device memory that must hold the shard and its optimizer state.</param>
/// <param name="Utilization">Fraction of peak that training reaches (model FLOPs utilization), an assumption.</param>
/// <param name="Source">Where the peak numbers come from.</param>
public sealed record DeviceSpec(
    string Name, string DisplayName, double PeakBf16Tflops, double PeakFp32Tflops, double MemoryGiB, double Utilization, string Source)
{
    private const double FlopsPerTeraflop = 1e12;

    /// <summary>Measured utilization by model preset (from `calibrate`); null or a missing preset: <see cref="Utilization"/>.</summary>
    public IReadOnlyDictionary<string, double>? PresetUtilization { get; init; }

    /// <summary>This row with the utilization measured for <paramref name="preset"/>, if there is one.</summary>
    public DeviceSpec ForPreset(string preset) =>
        PresetUtilization is { } u && u.TryGetValue(preset, out double measured) ? this with { Utilization = measured } : this;

    /// <summary>FLOP/s this device sustains while training at <paramref name="precision"/>.</summary>
    public double SustainedFlops(Precision precision) =>
        (precision == Precision.Bf16 ? PeakBf16Tflops : PeakFp32Tflops) * FlopsPerTeraflop * Utilization;
}
