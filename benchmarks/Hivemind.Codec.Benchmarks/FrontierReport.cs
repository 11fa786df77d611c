using System.Globalization;
using System.Text;
using ScottPlot;

namespace Hivemind.Codec.Benchmarks;

/// <summary>
/// The paired summary and the frontier plot: each setting against fp32-up / full-down DiLoCo with the same inner steps, rounds, volunteers,
/// corpus and seed (so the same tokens), as mean ± 95% CI over seeds. One plot per corpus: runs on different corpora never pair.
/// </summary>
internal static class FrontierReport
{
    /// <summary>Student's t quantile (two-sided 95%) by degrees of freedom 1..10; beyond, 2.</summary>
    private static readonly double[] T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

    /// <summary>Largest loss penalty the issue allows (percent).</summary>
    public const double PenaltyLimit = 3;

    /// <summary>The issue's traffic target against per-step data-parallel fp32.</summary>
    private const double ReductionTarget = 5000;

    /// <summary>The corpus name of synthetic rows (real-text rows carry their folder's name).</summary>
    public const string Synthetic = "synthetic";

    private const int PlotWidth = 1100;

    private const int PlotHeight = 700;

    /// <summary>
    /// A summarised setting at one inner-step count on one corpus. Bytes per token are means over seeds (identical across seeds: sizes depend
    /// only on shapes); "run" counts every byte of the run over all its tokens (each volunteer's first download included: nothing at version 0
    /// when it rebuilds θ_0 from the seed), "steady" the units after each volunteer's first (what a long run without churn converges to).
    /// </summary>
    public sealed record Point(string Corpus, string Setting, int InnerSteps, int Rounds, int Seeds, double Loss, double LossCi, double Penalty, double PenaltyCi,
        double Up, double Down, double SteadyDown, double DpPerToken)
    {
        /// <summary>Whether this is fp32 DiLoCo itself.</summary>
        public bool IsBaseline { get; init; }

        /// <summary>The per-seed penalties (percent), in seed order.</summary>
        public IReadOnlyList<double> Penalties { get; init; } = [];

        /// <summary>Against per-step data-parallel fp32, both directions, every byte of the run.</summary>
        public double Reduction => DpPerToken / (Up + Down);

        /// <summary>Against per-step data-parallel fp32, both directions, the units after each volunteer's first.</summary>
        public double SteadyReduction => DpPerToken / (Up + SteadyDown);

        /// <summary>Up only, against one direction of data-parallel fp32 (half its bytes).</summary>
        public double UpReduction => DpPerToken / 2 / Up;

        public double DownReduction => DpPerToken / 2 / Down;

        public double SteadyDownReduction => DpPerToken / 2 / SteadyDown;

        /// <summary>The lower of the run's and the steady reduction: the figure a claim may use for any run length without churn.</summary>
        public double ClaimedReduction => Math.Min(Reduction, SteadyReduction);

        /// <summary>Upper end of the penalty's 95% interval (NaN with one seed).</summary>
        public double PenaltyHigh => Penalty + PenaltyCi;
    }

    public static List<Point> Summarize(IReadOnlyList<RunRow> rows)
    {
        var points = new List<Point>();
        foreach (var experiment in rows.GroupBy(r => (r.InnerSteps, r.Rounds, r.Volunteers, r.Data)).OrderBy(g => g.Key.Data).ThenBy(g => g.Key.InnerSteps))
        {
            var baseline = experiment.Where(r => r.Setting == QualitySetting.Baseline.Name).ToDictionary(r => r.Seed);
            foreach (var setting in experiment.GroupBy(r => r.Setting).OrderBy(g => g.Key == QualitySetting.Baseline.Name ? 0 : 1))
            {
                var mine = setting.Where(r => baseline.ContainsKey(r.Seed)).OrderBy(r => r.Seed).ToList();
                if (mine.Count == 0) continue; // no baseline with the same seed: nothing to pair with
                var (loss, lossCi) = MeanCi(mine.Select(r => r.FinalLoss).ToList());
                var penalties = mine.Select(r => 100 * (r.FinalLoss / baseline[r.Seed].FinalLoss - 1)).ToList();
                var (penalty, penaltyCi) = MeanCi(penalties);
                points.Add(new Point(experiment.Key.Data.Length == 0 ? Synthetic : experiment.Key.Data, setting.Key, experiment.Key.InnerSteps, experiment.Key.Rounds,
                    mine.Count, loss, lossCi, penalty, penaltyCi, mine.Average(r => r.UpPerToken), mine.Average(r => r.DownPerToken),
                    mine.Average(r => r.SteadyDownPerToken), mine[0].DpPerToken)
                { IsBaseline = setting.Key == QualitySetting.Baseline.Name, Penalties = penalties });
            }
        }
        return points;
    }

    /// <summary>The paired table as markdown (what docs quote; a test compares the docs' copy with the committed CSVs).</summary>
    public static string Table(IReadOnlyList<Point> points)
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.Append("| corpus | setting | H | rounds | seeds | held-out loss (mean ± 95% CI) | penalty vs fp32 DiLoCo (paired mean [95% CI]) | up B/token | down B/token, run / steady | reduction up | reduction down, run / steady | reduction total, run / steady |\n");
        s.Append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var p in points)
        {
            string penalty = p.IsBaseline ? "0 (the baseline)"
                : double.IsFinite(p.PenaltyCi) ? string.Format(c, "{0:+0.00;−0.00}% [{1:+0.00;−0.00}%, {2:+0.00;−0.00}%]", p.Penalty, p.Penalty - p.PenaltyCi, p.PenaltyHigh)
                : string.Format(c, "{0:+0.00;−0.00}% (one seed)", p.Penalty);
            string loss = double.IsFinite(p.LossCi) ? string.Format(c, "{0:0.0000} ± {1:0.0000}", p.Loss, p.LossCi) : p.Loss.ToString("0.0000", c);
            s.Append(string.Format(c, "| {0} | {1} | {2:N0} | {3} | {4} | {5} | {6} | {7:0.000} | {8:0.000} / {9:0.000} | {10:N0}× | {11:N0}× / {12:N0}× | {13:N0}× / {14:N0}× |\n",
                p.Corpus, p.Setting, p.InnerSteps, p.Rounds, p.Seeds, loss, penalty, p.Up, p.Down, p.SteadyDown,
                p.UpReduction, p.DownReduction, p.SteadyDownReduction, p.Reduction, p.SteadyReduction));
        }
        return s.ToString();
    }

    /// <summary>Per corpus, the compressed setting with the largest reduction (the lower of run and steady) within 3% by mean and by the 95% upper end.</summary>
    public static IEnumerable<string> Best(IReadOnlyList<Point> points)
    {
        var c = CultureInfo.InvariantCulture;
        foreach (var corpus in points.GroupBy(p => p.Corpus))
        {
            var compressed = corpus.Where(p => !p.IsBaseline).ToList();
            var byMean = compressed.Where(p => p.Penalty <= PenaltyLimit).MaxBy(p => p.ClaimedReduction);
            var byInterval = compressed.Where(p => p.Seeds >= 3 && p.PenaltyHigh <= PenaltyLimit).MaxBy(p => p.ClaimedReduction);
            yield return string.Format(c, "{0}: best within {1}% by mean penalty: {2}; by the 95% upper end (≥ 3 seeds): {3}", corpus.Key, PenaltyLimit,
                Describe(byMean), Describe(byInterval));
        }

        string Describe(Point? p) => p is null ? "none"
            : string.Format(c, "{0}, H = {1}, {2} seeds: {3:N0}× ({4:N0}× in this run, {5:N0}× steady), penalty {6:+0.00;−0.00}% [{7:+0.00;−0.00}%, {8:+0.00;−0.00}%]",
                p.Setting, p.InnerSteps, p.Seeds, p.ClaimedReduction, p.Reduction, p.SteadyReduction, p.Penalty, p.Penalty - p.PenaltyCi, p.PenaltyHigh);
    }

    public static void Print(IReadOnlyList<RunRow> rows, IReadOnlyList<Point> points)
    {
        foreach (var first in rows.DistinctBy(r => (r.Data, r.ModelParameters)))
            Console.WriteLine($"model{(first.Data.Length > 0 ? $" on {first.Data}" : "")}: {first.ModelParameters} parameters; per-step data-parallel fp32 = 2 × {first.ModelParameters} × 4 B per step per worker = {first.DpPerToken:0} B per trained token");
        Console.Write(Table(points));
        Console.WriteLine();
        foreach (var p in points.Where(p => !p.IsBaseline))
            Console.WriteLine($"{p.Corpus}, {p.Setting}, H = {p.InnerSteps}: per-seed penalties {string.Join(", ", p.Penalties.Select(x => x.ToString("+0.00;−0.00", CultureInfo.InvariantCulture) + "%"))}");
        Console.WriteLine();
        foreach (var line in Best(points)) Console.WriteLine(line);
    }

    /// <summary>
    /// The plot files for these points: <paramref name="path"/> itself for one corpus; for several, one per corpus with the corpus's name
    /// before the extension (codecs-frontier.png → codecs-frontier-synthetic.png, codecs-frontier-bytes-pile.png).
    /// </summary>
    public static IReadOnlyList<(string Corpus, string Path)> PlotFiles(string path, IReadOnlyList<Point> points)
    {
        var corpora = points.Select(p => p.Corpus).Distinct().ToList();
        if (corpora.Count == 1) return [(corpora[0], path)];
        string dir = Path.GetDirectoryName(path) ?? "";
        return [.. corpora.Select(c => (c, Path.Combine(dir, $"{Path.GetFileNameWithoutExtension(path)}-{c}{Path.GetExtension(path)}")))];
    }

    /// <summary>
    /// Reduction (log scale) against the paired loss penalty, one plot per corpus, one colour per setting (the same in every corpus's plot): the
    /// marker at the steady reduction, a thin line to the run's reduction where the two differ, the bar the 95% interval over seeds.
    /// </summary>
    public static IReadOnlyList<string> Plot(string path, IReadOnlyList<Point> points)
    {
        if (points.Count == 0) return []; // nothing paired (e.g. quality --baseline false alone): the frontier command pairs across CSVs
        var palette = new ScottPlot.Palettes.Category10();
        var colours = points.Select(p => p.Setting).Distinct().Select((s, i) => (s, palette.GetColor(i))).ToDictionary(x => x.s, x => x.Item2);
        double minX = Math.Floor(Math.Log10(Math.Min(ReductionTarget, points.Min(p => p.ClaimedReduction))) * 10 - 1) / 10;
        double maxX = Math.Ceiling(Math.Log10(Math.Max(ReductionTarget, points.Max(p => Math.Max(p.Reduction, p.SteadyReduction)))) * 10 + 1) / 10;
        var written = new List<string>();
        foreach (var (corpus, file) in PlotFiles(path, points))
        {
            var p = new Plot();
            foreach (var point in points.Where(q => q.Corpus == corpus))
            {
                double x = Math.Log10(point.SteadyReduction);
                var colour = colours[point.Setting];
                if (Math.Abs(point.Reduction / point.SteadyReduction - 1) > 1e-3)
                {
                    var run = p.Add.Line(x, point.Penalty, Math.Log10(point.Reduction), point.Penalty);
                    run.Color = colour.WithAlpha(0.6);
                    run.LineWidth = 2;
                    run.MarkerSize = 0;
                }
                var marker = p.Add.Scatter(new[] { x }, new[] { point.Penalty });
                marker.Color = colour;
                marker.LegendText = $"{point.Setting}, H = {point.InnerSteps}, {point.Seeds} seed{(point.Seeds == 1 ? "" : "s")}";
                marker.MarkerSize = 9;
                if (double.IsFinite(point.PenaltyCi))
                {
                    var bar = p.Add.ErrorBar(new[] { x }, new[] { point.Penalty }, new[] { point.PenaltyCi });
                    bar.Color = colour;
                }
            }
            var limit = p.Add.HorizontalLine(PenaltyLimit);
            limit.LegendText = $"{PenaltyLimit}% penalty";
            limit.LinePattern = LinePattern.Dashed;
            limit.Color = Colors.Black;
            var target = p.Add.VerticalLine(Math.Log10(ReductionTarget));
            target.LegendText = $"{ReductionTarget:N0}×";
            target.LinePattern = LinePattern.Dotted;
            target.Color = Colors.Gray;
            var ticks = new ScottPlot.TickGenerators.NumericManual();
            foreach (double t in new double[] { 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000 })
                if (Math.Log10(t) >= minX && Math.Log10(t) <= maxX) ticks.AddMajor(Math.Log10(t), t.ToString("N0", CultureInfo.InvariantCulture) + "×");
            p.Axes.Bottom.TickGenerator = ticks;
            p.Axes.SetLimitsX(minX, maxX);
            p.Title($"{corpus} corpus: traffic reduction vs held-out loss penalty (tiny)");
            p.XLabel("bytes per trained token, per-step data-parallel fp32 ÷ ours (log); marker: steady state, line: to this run's total");
            p.YLabel("penalty vs fp32 DiLoCo, same H, seed, tokens (%)");
            p.ShowLegend(Edge.Bottom);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            p.SavePng(file, PlotWidth, PlotHeight);
            written.Add(file);
        }
        return written;
    }

    private static (double Mean, double Ci) MeanCi(IReadOnlyList<double> xs)
    {
        double mean = xs.Average();
        if (xs.Count < 2) return (mean, double.NaN);
        double sd = Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1));
        double t = xs.Count - 1 <= T95.Length ? T95[xs.Count - 2] : 2.0;
        return (mean, t * sd / Math.Sqrt(xs.Count));
    }
}
