namespace Hivemind.Codec.Benchmarks;

/// <summary>Merges quality CSVs (e.g. one per inner-step count) into one paired summary and one frontier plot.</summary>
internal static class FrontierCommand
{
    public static int Run(Args options)
    {
        string list = options.Get("--csv", "");
        if (list.Length == 0) throw new ArgumentException("frontier needs --csv a.csv[,b.csv...] written by quality --csv.");
        string plot = options.Get("--out", "docs/benchmarks/codecs-frontier.png");
        var rows = ReadRows(list.Split(','));
        if (rows.Count == 0) throw new ArgumentException($"--csv {list} holds no rows; run quality --csv first.");
        var points = FrontierReport.Summarize(rows);
        FrontierReport.Print(rows, points);
        Console.WriteLine($"\nfrontier plot: {string.Join(", ", FrontierReport.Plot(plot, points))}");
        return 0;
    }

    /// <summary>
    /// Every row of these quality CSVs (headers skipped); the same run written twice (e.g. the baseline of two invocations with the same H and
    /// seed) counts once, since runs are deterministic.
    /// </summary>
    public static List<RunRow> ReadRows(IEnumerable<string> files)
    {
        var rows = new List<RunRow>();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new FileNotFoundException($"--csv file '{file}' does not exist; write it with quality --csv {file}.", file);
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Length == 0 || lines[i].StartsWith("setting,", StringComparison.Ordinal)) continue; // a header, with or without the data column
                rows.Add(RunRow.Parse(lines[i], $"{file}:{i + 1}"));
            }
        }
        return [.. rows.DistinctBy(r => (r.Setting, r.Seed, r.InnerSteps, r.Rounds, r.Volunteers, r.Data))];
    }
}
