using System.CommandLine;
using System.Globalization;
using Hivemind.Coordinator.Verification;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.SpotChecks;

/// <summary>
/// <c>calibrate-checks</c>: measures honest recomputation divergence across this machine's kernel paths and every cheat class's
/// divergence, prints the table, and fails (exit 1) if the thresholds flag an honest recomputation or miss a separable cheat.
/// </summary>
public static class CalibrateChecksCommand
{
    public const string Name = "calibrate-checks";

    /// <summary>More units than this per path is a typo (the documented run uses 10).</summary>
    private const int MaxUnits = 1000;

    /// <summary>A unit of more inner steps than this would make the calibration run for hours.</summary>
    private const int MaxInnerSteps = 1000;

    public static Command Create(CliConsole console)
    {
        var defaults = new CoordinatorOptions();
        var available = KernelPath.Available();
        var units = Flags.Int("--units", "Work units recomputed on every kernel path", 10, min: 1, max: MaxUnits);
        var innerSteps = Flags.Int("--inner-steps", "Inner steps per unit (H); lazy trains H/2", defaults.InnerSteps, min: 2, max: MaxInnerSteps);
        var paths = Flags.Text("--paths", $"Comma-separated kernel paths (default: all this CPU runs: {string.Join(", ", available.Select(p => p.Name))})", "");
        var directory = Flags.Text("--directory", "Scratch folder for the children's updates (kept for inspection)", "./hivemind-calibration");
        var maxL2 = new Option<string>("--max-relative-l2") { Description = $"Threshold to check [default: {defaults.SpotCheckMaxRelativeL2.ToString(CultureInfo.InvariantCulture)}]" };
        var minCos = new Option<string>("--min-cosine") { Description = $"Threshold to check [default: {defaults.SpotCheckMinCosine.ToString(CultureInfo.InvariantCulture)}]" };
        var output = Flags.Text("--output", "Also write the table (markdown) to this file", "");
        // The child-process side: hidden, started by the command itself with the path's environment variables.
        var worker = new Option<string>("--worker") { Hidden = true };
        var pathIndex = new Option<int>("--path-index") { Hidden = true };
        var pathCount = new Option<int>("--path-count") { Hidden = true };
        var threads = new Option<int>("--threads") { Hidden = true };
        var command = new Command(Name, "Calibrate the spot check's tolerance: honest recomputations across kernel paths vs every cheat class, as a table.")
        {
            units, innerSteps, paths, directory, maxL2, minCos, output, worker, pathIndex, pathCount, threads,
        };
        command.SetAction(async (parse, ct) =>
        {
            string dir = Path.GetFullPath(parse.GetValue(directory)!);
            if (parse.GetValue(worker) is { Length: > 0 } workerPath)
            {
                CalibrationWorker.Run(dir, workerPath, parse.GetValue(pathIndex), parse.GetValue(pathCount), parse.GetValue(units), parse.GetValue(innerSteps), parse.GetValue(threads), console.Out);
                return 0;
            }
            var chosen = SelectPaths(parse.GetValue(paths)!, available);
            var thresholds = new SpotCheckThresholds(
                ParseDouble("--max-relative-l2", parse.GetValue(maxL2), defaults.SpotCheckMaxRelativeL2),
                ParseDouble("--min-cosine", parse.GetValue(minCos), defaults.SpotCheckMinCosine));
            var samples = await CheckCalibration.RunAsync(dir, chosen, parse.GetValue(units), parse.GetValue(innerSteps), console.Out, ct);
            var report = new CalibrationReport(samples, thresholds);
            string table = report.Markdown();
            console.Out.WriteLine(table);
            if (parse.GetValue(output) is { Length: > 0 } file) File.WriteAllText(file, table);
            return report.Holds ? 0 : 1;
        });
        return command;
    }

    private static IReadOnlyList<KernelPath> SelectPaths(string list, IReadOnlyList<KernelPath> available)
    {
        if (list.Length == 0) return available;
        var chosen = new List<KernelPath>();
        foreach (var name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            chosen.Add(available.FirstOrDefault(p => p.Name == name)
                       ?? throw new UsageException($"--paths: '{name}' is not a kernel path this CPU runs; use some of {string.Join(", ", available.Select(p => p.Name))}."));
        if (chosen.Count < 2) throw new UsageException($"--paths '{list}' names {chosen.Count} path; a calibration compares at least 2.");
        return chosen;
    }

    private static double ParseDouble(string flag, string? text, double fallback)
    {
        if (text is null) return fallback;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)) return v;
        throw new UsageException($"{flag} '{text}' is not a number (e.g. 0.25).");
    }
}
