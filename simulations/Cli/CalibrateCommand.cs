using System.CommandLine;
using System.Text.Json;
using Hivemind.Simulations.Calibration;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Cli;

/// <summary>
/// `calibrate [--write] [--out folder] [--seconds s]`: measures this machine with the real code and prints the result; only with
/// --write does it replace the calibration files (figures quoted in README and docs come from them, so a stray run must not).
/// </summary>
public static class CalibrateCommand
{
    private const double DefaultSecondsPerBenchmark = 3;
    private const double FlopsPerGigaflop = 1e9;
    private const double Percent = 100;

    /// <summary>The command.</summary>
    public static Command Create()
    {
        var output = new Option<string>("--out")
        {
            Description = $"folder for {CalibrationFiles.CpuDeviceFile} and {CalibrationFiles.AggregationFile} (the committed ones are in simulations/calibration)",
            DefaultValueFactory = _ => Path.Combine("simulations", "calibration"),
        };
        var seconds = new Option<double>("--seconds") { Description = "time spent on each benchmark", DefaultValueFactory = _ => DefaultSecondsPerBenchmark };
        var write = new Option<bool>("--write")
        {
            Description = "replace the calibration files in --out; without it the measurement is only printed (quoted figures depend on those files: re-run `figures` after writing)",
        };
        var command = new Command("calibrate", "Measure this machine with the real code (matmul, memory, training step per preset, aggregators); print it, and with --write replace the calibration files") { output, seconds, write };
        command.SetAction(parse =>
        {
            double budget = parse.GetValue(seconds);
            if (!(budget > 0))
            {
                Console.Error.WriteLine($"--seconds {budget}: must be > 0, e.g. 3");
                return RunCommand.ScenarioError;
            }

            if (typeof(CalibrateCommand).Assembly.GetCustomAttributes(typeof(System.Diagnostics.DebuggableAttribute), false)
                is [System.Diagnostics.DebuggableAttribute { IsJITOptimizerDisabled: true }])
            {
                Console.Error.WriteLine("warning: this is a Debug build, whose unoptimized loops understate the machine; run with `-c Release`");
            }

            var result = Calibrator.Measure(TimeSpan.FromSeconds(budget));
            Print(result);
            string folder = parse.GetValue(output)!;
            if (!parse.GetValue(write))
            {
                Console.WriteLine($"not written (no --write): {Path.GetFullPath(folder)} is unchanged");
                return 0;
            }

            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, CalibrationFiles.CpuDeviceFile), JsonSerializer.Serialize(result.Row, ScenarioLoader.Options) + "\n");
            File.WriteAllText(Path.Combine(folder, CalibrationFiles.AggregationFile), result.Aggregation.ToJson());
            Console.WriteLine($"wrote {CalibrationFiles.CpuDeviceFile} and {CalibrationFiles.AggregationFile} to {Path.GetFullPath(folder)}");
            return 0;
        });
        return command;
    }

    private static void Print(CalibrationResult r)
    {
        Console.WriteLine($"fp32 matmul: {r.MatmulGflops:F1} GFLOP/s on {Environment.ProcessorCount} cores; memory triad: {r.MemoryGBps:F1} GB/s");
        Console.WriteLine();
        Console.WriteLine("| preset | batch × seq × H | s/unit | tokens/s | FLOPs/token | GFLOP/s (1 thread) | utilization of the row's peak |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var t in r.Training)
        {
            Console.WriteLine($"| {t.Preset} | {t.BatchSize} × {t.SequenceLength} × {t.InnerSteps} | {t.SecondsPerUnit:F3} | {t.TokensPerSecond:F0} | "
                + $"{Num.G(t.FlopsPerToken)} | {t.EffectiveFlops / FlopsPerGigaflop:F3} | {r.Row.PresetUtilization![t.Preset] * Percent:F2}% |");
        }

        Console.WriteLine();
        Console.WriteLine($"| rule | spec timed | ns per element per input (pair for exponent 2) | exponent |");
        Console.WriteLine("|---|---|---:|---:|");
        foreach (var (name, c) in r.Aggregation.Rules)
        {
            Console.WriteLine($"| {name} | `{c.Spec}` | {c.NanosecondsPerElementInput:G4} | {c.InputExponent} |");
        }
    }
}
