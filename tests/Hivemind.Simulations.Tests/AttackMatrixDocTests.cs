using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Hivemind.Simulations.Tests;

/// <summary>
/// The hard attack matrix's tables in docs/benchmarks/simulation-attacks.md (issue 15) are what <c>scripts/attack-matrix-report.py</c>
/// computes from the committed runs.csv files now: a block <c>&lt;!-- attack-matrix-report: a.csv,b.csv … --&gt;</c> …
/// <c>&lt;!-- /attack-matrix-report --&gt;</c> (paths from the repository root; the doc nests the report's headings one level down).
/// </summary>
public sealed partial class AttackMatrixDocTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hivemind-amdoc-").FullName;

    [Fact]
    public void The_docs_matrix_tables_are_the_report_scripts_output_from_the_committed_runs()
    {
        string root = RepoRoot();
        string doc = File.ReadAllText(Path.Combine(root, "docs", "benchmarks", "simulation-attacks.md"));
        var blocks = Block().Matches(doc);
        Assert.NotEmpty(blocks);
        foreach (Match block in blocks)
        {
            var files = block.Groups["files"].Value.Split(',', StringSplitOptions.TrimEntries).Select(f => Path.Combine(root, f)).ToList();
            Assert.All(files, f => Assert.True(File.Exists(f), $"{f} is quoted in simulation-attacks.md but missing"));
            string quoted = block.Groups["body"].Value.Trim();
            string computed = Nest(Report(root, files)).Trim();
            Assert.True(computed == quoted,
                $"simulation-attacks.md's matrix tables differ from `python3 scripts/attack-matrix-report.py {block.Groups["files"].Value.Replace(',', ' ')}`: " +
                $"regenerate the block (first difference at character {FirstDifference(computed, quoted)})");

            // The check can fail: one run's final gap changed in a copy gives other tables.
            string edited = Path.Combine(_temp, "edited.csv");
            var lines = File.ReadAllLines(files[^1]);
            var cells = lines[1].Split(',');
            int gap = Array.IndexOf(lines[0].Split(','), "final_gap");
            cells[gap] = (double.Parse(cells[gap], System.Globalization.CultureInfo.InvariantCulture) * 1.5).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            lines[1] = string.Join(',', cells);
            File.WriteAllLines(edited, lines);
            Assert.NotEqual(quoted, Nest(Report(root, [.. files.SkipLast(1), edited])).Trim());
        }
    }

    private static string Nest(string report) => report.Replace("\n### ", "\n#### ", StringComparison.Ordinal);

    private static int FirstDifference(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return n;
    }

    private static string Report(string root, IReadOnlyList<string> files)
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        start.ArgumentList.Add(Path.Combine(root, "scripts", "attack-matrix-report.py"));
        // The script names its inputs in its first line as given: pass them as the doc does, relative to the root.
        foreach (var f in files) start.ArgumentList.Add(Path.GetRelativePath(root, f));
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "attack-matrix-report.py did not finish within 2 minutes");
        Assert.True(process.ExitCode == 0, $"attack-matrix-report.py exited {process.ExitCode}: {stderr.Result}");
        return stdout.Result.Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hivemind.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return dir.FullName;
    }

    [GeneratedRegex(@"<!-- attack-matrix-report: (?<files>[^ ]+)[^\n]*-->\n(?<body>.*?)\n<!-- /attack-matrix-report -->", RegexOptions.Singleline)]
    private static partial Regex Block();

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
