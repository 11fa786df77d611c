using System.Text.RegularExpressions;
using Hivemind.Codec.Benchmarks;
using Hivemind.Coordinator.Tests.Dashboard;
using Hivemind.Coordinator.Tests.Infrastructure;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The codec frontier (issue 16): pairing per corpus, intervals, one plot per corpus, and the tables docs quote from committed quality CSVs
/// (a block <c>&lt;!-- frontier-table: a.csv,b.csv --&gt;</c> … <c>&lt;!-- /frontier-table --&gt;</c>, paths relative to the doc) are what the
/// <c>frontier</c> command computes from those CSVs now.
/// </summary>
public sealed partial class CodecFrontierTests : IDisposable
{
    private const long Parameters = 201_856;

    private const int InnerSteps = 1350;

    private const long TokensPerStep = 128;

    private readonly TempDirectory _dir = new();

    [Fact]
    public void SettingsPairPerCorpusWithIntervalsAndEachCorpusGetsItsOwnPlot()
    {
        // Baseline losses 2.0 / 2.2 / 2.4; int8 +1%, +2%, +3% on synthetic and −1%, 0%, +1% on text: same seeds, never paired across corpora.
        var rows = new List<RunRow>();
        foreach (var (data, offset) in new[] { ("", 1.0), ("bytes-pile", -1.0) })
        {
            for (int seed = 1; seed <= 3; seed++)
            {
                double baseline = 1.8 + 0.2 * seed + (data.Length == 0 ? 0 : 1);
                rows.Add(Row(QualitySetting.Baseline.Name, seed, baseline, up: 808_770, down: 8 * 808_770, first: 2 * 808_770, data));
                rows.Add(Row("int8 / steps int8", seed, baseline * (1 + (offset + seed - 1) / 100), up: 8 * 206_386, down: 6 * 206_386, first: 0, data));
            }
        }

        var points = FrontierReport.Summarize(rows);

        Assert.Equal([FrontierReport.Synthetic, FrontierReport.Synthetic, "bytes-pile", "bytes-pile"], points.Select(p => p.Corpus));
        var synthetic = Assert.Single(points, p => p.Corpus == FrontierReport.Synthetic && !p.IsBaseline);
        var text = Assert.Single(points, p => p.Corpus == "bytes-pile" && !p.IsBaseline);
        Assert.Equal(2.0, synthetic.Penalty, 9);
        Assert.Equal(0.0, text.Penalty, 9);
        // Per-seed penalties 1, 2, 3 (sd 1): t(2) = 4.303, so the 95% interval is ± 4.303 / √3.
        Assert.Equal(4.303 / Math.Sqrt(3), synthetic.PenaltyCi, 9);
        Assert.Equal(12_616, synthetic.DpPerToken, 9);
        // Every byte of the run over every token (nothing at version 0), and the units after each volunteer's first (one step each).
        Assert.Equal(12_616.0 * 8 * InnerSteps * TokensPerStep / (14 * 206_386), synthetic.Reduction, 6);
        Assert.Equal(12_616.0 / (8.0 * 206_386 / (8 * InnerSteps * TokensPerStep) + 6.0 * 206_386 / (6 * InnerSteps * TokensPerStep)), synthetic.SteadyReduction, 6);
        Assert.Equal(synthetic.SteadyReduction, synthetic.ClaimedReduction);
        var best = FrontierReport.Best(points).ToList();
        Assert.Contains(best, l => l.StartsWith("synthetic: best within 3% by mean penalty: int8 / steps int8", StringComparison.Ordinal) && l.EndsWith("upper end (≥ 3 seeds): none", StringComparison.Ordinal));
        Assert.Contains(best, l => l.StartsWith("bytes-pile: best within 3% by mean penalty: int8 / steps int8", StringComparison.Ordinal) && !l.EndsWith("none", StringComparison.Ordinal));

        string path = Path.Combine(_dir.Path, "plots", "frontier.png");
        var written = FrontierReport.Plot(path, points);

        Assert.Equal([Path.Combine(_dir.Path, "plots", "frontier-bytes-pile.png"), Path.Combine(_dir.Path, "plots", "frontier-synthetic.png")], written.Order());
        Assert.All(written, f => Assert.True(new FileInfo(f).Length > 1000, $"{f} is not a drawn plot"));
        Assert.Equal([(FrontierReport.Synthetic, path)], FrontierReport.PlotFiles(path, [.. points.Where(p => p.Corpus == FrontierReport.Synthetic)]));
    }

    [Fact]
    public void TheFrontierTablesInDocsAreWhatTheCommittedCsvsGive()
    {
        var blocks = FrontierBlocks().ToList();
        Assert.NotEmpty(blocks);
        foreach (var (doc, csvs, quoted) in blocks)
        {
            var rows = FrontierCommand.ReadRows(csvs.Select(c => Path.Combine(Path.GetDirectoryName(doc)!, c)));
            string table = FrontierReport.Table(FrontierReport.Summarize(rows));
            Assert.True(table == quoted,
                $"{doc} quotes a frontier table of {string.Join(",", csvs)} that differs from what the CSVs give now; run `Hivemind.Codec.Benchmarks frontier --csv ...` "
                + $"and paste its table:\n{table}\nquoted:\n{quoted}");
        }
    }

    [Fact]
    public void AnAlteredCsvNoLongerMatchesTheQuotedTable()
    {
        var (doc, csvs, quoted) = FrontierBlocks().First();
        var copies = new List<string>();
        foreach (var csv in csvs)
        {
            string copy = Path.Combine(_dir.Path, copies.Count + ".csv");
            File.Copy(Path.Combine(Path.GetDirectoryName(doc)!, csv), copy);
            copies.Add(copy);
        }
        // One held-out loss changed in its last digits: the quoted figures must move.
        var lines = File.ReadAllLines(copies[0]);
        int i = Array.FindIndex(lines, l => l.StartsWith('"'));
        var fields = lines[i].Split(',');
        int loss = fields.Length - 8; // held_out_loss is the 6th of 13 columns, the setting (quoted, maybe with commas) first
        fields[loss] = (double.Parse(fields[loss], System.Globalization.CultureInfo.InvariantCulture) * 1.01).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        lines[i] = string.Join(',', fields);
        File.WriteAllLines(copies[0], lines);

        Assert.NotEqual(quoted, FrontierReport.Table(FrontierReport.Summarize(FrontierCommand.ReadRows(copies))));
    }

    public void Dispose() => _dir.Dispose();

    private static RunRow Row(string setting, int seed, double loss, long up, long down, long first, string data) =>
        new(setting, seed, InnerSteps, Rounds: 4, Volunteers: 2, loss, up, down, first, Tokens: 8 * InnerSteps * TokensPerStep, Parameters, TokensPerStep, data);

    /// <summary>Every frontier-table block of docs/**/*.md: the doc, its CSVs (relative to the doc) and the quoted table.</summary>
    private static IEnumerable<(string Doc, string[] Csvs, string Quoted)> FrontierBlocks()
    {
        foreach (var doc in Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "docs"), "*.md", SearchOption.AllDirectories).Order())
        {
            foreach (Match m in Block().Matches(File.ReadAllText(doc).ReplaceLineEndings("\n")))
                yield return (doc, m.Groups["csvs"].Value.Trim().Split(','), m.Groups["table"].Value);
        }
    }

    [GeneratedRegex(@"<!-- frontier-table: (?<csvs>[^>]+?) -->\n(?<table>.*?)<!-- /frontier-table -->", RegexOptions.Singleline)]
    private static partial Regex Block();
}
