using System.Text;
using Hivemind.Simulations.Faithful;

namespace Hivemind.Simulations.Reports;

/// <summary>
/// Appends each finished engine run to runs.csv and rounds.csv in the report folder as it finishes, so a long matrix that is stopped
/// keeps every run it finished; the report written at the end replaces both files with the same rows in job order.
/// </summary>
public sealed class IncrementalRunsCsv(string folder)
{
    private readonly object _gate = new();
    private string[]? _axes;

    /// <summary>Appends <paramref name="run"/> (thread-safe); the first run's axes fix the columns, as they do in the final report.</summary>
    public void Append(FaithfulRun run)
    {
        lock (_gate)
        {
            bool first = _axes is null;
            _axes ??= [.. run.Axes.Select(a => a.Axis)];
            if (first)
            {
                Directory.CreateDirectory(folder);
            }

            var runs = new CsvTable(FaithfulCsv.RunsHeader(_axes));
            FaithfulCsv.AddRun(runs, run, _axes);
            var rounds = new CsvTable(FaithfulCsv.RoundsHeader(_axes));
            FaithfulCsv.AddRounds(rounds, run, _axes);
            Write("runs.csv", runs.Text(first), first);
            Write("rounds.csv", rounds.Text(first), first);
        }
    }

    private void Write(string name, string text, bool replace)
    {
        // A file left by an earlier run into the same folder is replaced, not extended: its rows belong to another matrix.
        using var file = new FileStream(Path.Combine(folder, name), replace ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read);
        file.Write(new UTF8Encoding(false).GetBytes(text));
        file.Flush(flushToDisk: true);
    }
}
