using System.CommandLine;
using System.Diagnostics;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Running;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Cli;

/// <summary>`run &lt;scenario&gt; --out &lt;folder&gt; [--smoke]`: runs a scenario and writes its report.</summary>
public static class RunCommand
{
    /// <summary>Exit code for a scenario that cannot be read or run.</summary>
    public const int ScenarioError = 2;

    /// <summary>Exit code when the report was written but some runs stopped on a native error (listed in the report and on stderr).</summary>
    public const int RunsFailed = 3;

    /// <summary>The command.</summary>
    public static Command Create()
    {
        var scenario = new Argument<string>("scenario") { Description = "a scenario .json file or a shipped name (see `list`)" };
        var output = new Option<string>("--out") { Description = "folder for report.md, CSV, PNG and the scenario copy", Required = true };
        var smoke = new Option<bool>("--smoke") { Description = "use the scenario's small \"smoke\" sizes (seconds, for CI)" };
        var minutes = new Option<double?>("--max-minutes")
        {
            Description = "faithful mode: start no engine run after this many wall-clock minutes; the report names the runs left out",
        };
        var parallel = new Option<int>("--parallel")
        {
            Description = "faithful mode: engine runs at once, one core each (the report is the same at any value)",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("run", "Run a scenario and write its report") { scenario, output, smoke, minutes, parallel };
        command.SetAction(parse => Execute(parse.GetValue(scenario)!, parse.GetValue(output)!, parse.GetValue(smoke), parse.GetValue(minutes), parse.GetValue(parallel)));
        return command;
    }

    private static int Execute(string argument, string folder, bool smoke, double? maxMinutes, int parallel)
    {
        if (parallel < 1)
        {
            Console.Error.WriteLine($"--parallel {parallel}: must be at least 1 (engine runs at once; the machine's core count at most is useful)");
            return ScenarioError;
        }

        if (maxMinutes is <= 0)
        {
            Console.Error.WriteLine($"--max-minutes {maxMinutes}: must be a positive number of minutes (or left out to run everything)");
            return ScenarioError;
        }

        try
        {
            var (scenario, text) = ScenarioSource.Resolve(argument);
            var watch = Stopwatch.StartNew();
            if (scenario.Mode == ScenarioMode.Faithful)
            {
                // Each finished run goes to runs.csv and rounds.csv at once: a long matrix that is stopped keeps what it finished.
                var partial = new IncrementalRunsCsv(folder);
                var faithful = ProgressDisplay.Run(scenario.Name, progress => FaithfulRunner.Run(scenario, smoke, progress, FaithfulSimulation.Run,
                    maxMinutes is { } m ? TimeSpan.FromMinutes(m) : null, parallel, partial.Append));
                var written = FaithfulReportWriter.Write(faithful, text, folder);
                Console.WriteLine($"{scenario.Name}{(smoke ? " (smoke)" : "")}: {faithful.Runs.Count} engine runs, {faithful.Baselines.Count} centralized baselines in {watch.Elapsed.TotalSeconds:F1} s");
                Console.WriteLine($"wrote {string.Join(", ", written)} to {Path.GetFullPath(folder)}");
                foreach (var f in faithful.Failures)
                {
                    Console.Error.WriteLine($"run failed: {f.Label}: {f.Error}");
                }

                return faithful.Failures.Count == 0 ? 0 : RunsFailed;
            }

            var outcome = ProgressDisplay.Run(scenario.Name, progress => ScenarioRunner.Run(scenario, smoke, progress));
            var files = ReportWriter.Write(outcome, text, folder);
            Console.WriteLine($"{scenario.Name}{(smoke ? " (smoke)" : "")}: {outcome.Sweep.Count} sweep points, {outcome.Matches.Count} cluster searches in {watch.Elapsed.TotalSeconds:F1} s");
            Console.WriteLine($"wrote {string.Join(", ", files)} to {Path.GetFullPath(folder)}");
            return 0;
        }
        catch (ScenarioException e)
        {
            Console.Error.WriteLine(e.Message);
            return ScenarioError;
        }
    }
}
