using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Calibration;

/// <summary>
/// The calibration files the timing model reads: `cpu-device.json` (the CPU row, with a utilization per preset) and
/// `aggregation-costs.json`. The measured ones are committed in simulations/calibration and copied next to the binary;
/// `calibrate` rewrites them. A missing file falls back to the built-in estimates.
/// </summary>
public static class CalibrationFiles
{
    /// <summary>File name of the CPU device row.</summary>
    public const string CpuDeviceFile = "cpu-device.json";

    /// <summary>File name of the aggregation constants.</summary>
    public const string AggregationFile = "aggregation-costs.json";

    private static readonly Lazy<AggregationCosts> ShippedAggregation = new(() => LoadAggregation(DefaultDirectory));
    private static readonly Lazy<DeviceSpec?> ShippedCpu = new(() => LoadCpuRow(DefaultDirectory));

    /// <summary>The calibration folder next to the binary (a copy of simulations/calibration).</summary>
    public static string DefaultDirectory => Path.Combine(AppContext.BaseDirectory, "calibration");

    /// <summary>The aggregation constants in use: the shipped file if present, else the built-in estimates.</summary>
    public static AggregationCosts Aggregation => ShippedAggregation.Value;

    /// <summary>The shipped CPU row, or null when the file is absent (the built-in row is used).</summary>
    public static DeviceSpec? CpuRow => ShippedCpu.Value;

    /// <summary>Reads <see cref="AggregationFile"/> from <paramref name="directory"/>, or the built-in estimates if it is absent.</summary>
    public static AggregationCosts LoadAggregation(string directory)
    {
        string path = Path.Combine(directory, AggregationFile);
        return File.Exists(path) ? AggregationCosts.Parse(File.ReadAllText(path), path) : AggregationCost.Estimates;
    }

    /// <summary>Reads <see cref="CpuDeviceFile"/> from <paramref name="directory"/>, or null if it is absent.</summary>
    public static DeviceSpec? LoadCpuRow(string directory)
    {
        string path = Path.Combine(directory, CpuDeviceFile);
        return File.Exists(path) ? ParseCpuRow(File.ReadAllText(path), path) : null;
    }

    /// <summary>Parses a device row as `calibrate` writes it.</summary>
    public static DeviceSpec ParseCpuRow(string json, string source)
    {
        DeviceRow? row;
        try
        {
            row = System.Text.Json.JsonSerializer.Deserialize<DeviceRow>(json, ScenarioLoader.Options);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ScenarioException($"{source}: not a device row ({e.Message}); rerun `calibrate` to rewrite it");
        }

        if (row is null || !(row.PeakFp32Tflops > 0) || !(row.Utilization > 0))
        {
            throw new ScenarioException($"{source}: the device row needs peakFp32Tflops > 0 and utilization > 0 (got {row?.PeakFp32Tflops}, {row?.Utilization}); rerun `calibrate`");
        }

        return row.ToSpec();
    }
}
