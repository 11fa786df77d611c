using System.CommandLine;
using System.Text.Json;
using Hivemind.Simulations.Calibration;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Cli;

/// <summary>`calibrate [--out file] [--seconds s]`: measures this machine and writes its CPU device row.</summary>
public static class CalibrateCommand
{
    private const double DefaultSecondsPerBenchmark = 3;

    /// <summary>The command.</summary>
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "file for the CPU device row (paste it under a scenario's \"devices\")", DefaultValueFactory = _ => "cpu-device.json" };
        var seconds = new Option<double>("--seconds") { Description = "time spent on each benchmark", DefaultValueFactory = _ => DefaultSecondsPerBenchmark };
        var command = new Command("calibrate", "Measure this machine's fp32 matmul GFLOP/s and memory bandwidth; write the CPU device row") { output, seconds };
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

            var (row, gflops, gbps) = Calibrator.Measure(TimeSpan.FromSeconds(budget));
            string path = parse.GetValue(output)!;
            File.WriteAllText(path, JsonSerializer.Serialize(row, ScenarioLoader.Options) + "\n");
            Console.WriteLine($"fp32 matmul: {gflops:F1} GFLOP/s on {Environment.ProcessorCount} cores; memory triad: {gbps:F1} GB/s");
            Console.WriteLine($"wrote the CPU device row to {Path.GetFullPath(path)}");
            Console.WriteLine("note: the training-step, aggregation and submit-throughput calibrations wait for the round engine.");
            return 0;
        });
        return command;
    }
}
