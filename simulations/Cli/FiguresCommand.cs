using System.CommandLine;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Running;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Cli;

/// <summary>`figures [files...]`: reruns every scenario README and docs quote and rewrites the quoted tables from the new reports.</summary>
public static class FiguresCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Markdown files holding <!-- figures: ... --> blocks (default: README.md and docs/**/*.md under the current folder)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var check = new Option<bool>("--check") { Description = "change nothing; exit 1 when a quoted table differs from its report" };
        var command = new Command("figures", "Regenerate every report table quoted in README and docs from the shipped scenarios") { files, check };
        command.SetAction(parse => Execute(parse.GetValue(files) ?? [], parse.GetValue(check)));
        return command;
    }

    /// <summary>Runs a quoted scenario at the block's size and returns its report.md text.</summary>
    public static string Report(string scenarioName, bool smoke)
    {
        var (scenario, text) = ScenarioSource.Resolve(scenarioName);
        string folder = Path.Combine(Path.GetTempPath(), "hm-figures-" + Guid.NewGuid().ToString("N"));
        try
        {
            if (scenario.Mode == ScenarioMode.Faithful)
            {
                FaithfulReportWriter.Write(FaithfulRunner.Run(scenario, smoke), text, folder);
            }
            else
            {
                ReportWriter.Write(ScenarioRunner.Run(scenario, smoke), text, folder);
            }

            return File.ReadAllText(Path.Combine(folder, "report.md"));
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    private static int Execute(string[] files, bool check)
    {
        var paths = files.Length > 0 ? files
            : new[] { "README.md" }.Where(File.Exists).Concat(Directory.Exists("docs") ? Directory.GetFiles("docs", "*.md", SearchOption.AllDirectories) : []).ToArray();
        var reports = new Dictionary<(string, bool), string>();
        int stale = 0;
        foreach (string path in paths)
        {
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"{path} does not exist; pass Markdown files that hold <!-- figures: ... --> blocks");
                return RunCommand.ScenarioError;
            }

            string before = File.ReadAllText(path);
            string after;
            try
            {
                after = QuotedFigures.Rewrite(before, path, b =>
                {
                    if (!reports.TryGetValue((b.Scenario, b.Smoke), out string? report))
                    {
                        Console.WriteLine($"running {b.Scenario}{(b.Smoke ? " --smoke" : "")} for {path}");
                        report = reports[(b.Scenario, b.Smoke)] = Report(b.Scenario, b.Smoke);
                    }

                    return report;
                });
            }
            catch (Exception e) when (e is FormatException or ScenarioException)
            {
                Console.Error.WriteLine($"{path}: {e.Message}");
                return RunCommand.ScenarioError;
            }

            if (after == before) continue;
            stale++;
            Console.WriteLine($"{path}: quoted figures {(check ? "differ from the reports" : "rewritten")}");
            if (!check) File.WriteAllText(path, after);
        }

        Console.WriteLine($"{paths.Length} files, {reports.Count} reports, {stale} {(check ? "stale" : "rewritten")}");
        return check && stale > 0 ? 1 : 0;
    }
}
