using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scenarios;

/// <summary>A device table row as written in a scenario's "devices" or by `calibrate`.</summary>
public sealed class DeviceRow
{
    /// <summary>Key (replaces a built-in row of the same name).</summary>
    public required string Name { get; init; }

    /// <summary>Name for reports; absent means <see cref="Name"/>.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Peak dense fp16/bf16 TFLOPS.</summary>
    public double PeakBf16Tflops { get; init; }

    /// <summary>Peak dense fp32 TFLOPS.</summary>
    public double PeakFp32Tflops { get; init; }

    /// <summary>Device memory in GiB.</summary>
    public double MemoryGiB { get; init; }

    /// <summary>Fraction of peak training reaches.</summary>
    public double Utilization { get; init; }

    /// <summary>Measured utilization by model preset (faithful mode), e.g. {"tiny": 0.05}; a preset not listed uses <see cref="Utilization"/>.</summary>
    public Dictionary<string, double>? PresetUtilization { get; init; }

    /// <summary>Where the numbers come from (required: numbers without a source are not accepted).</summary>
    public required string Source { get; init; }

    /// <summary>The table row.</summary>
    public DeviceSpec ToSpec() => new(Name, DisplayName ?? Name, PeakBf16Tflops, PeakFp32Tflops, MemoryGiB, Utilization, Source)
    {
        PresetUtilization = PresetUtilization,
    };
}
