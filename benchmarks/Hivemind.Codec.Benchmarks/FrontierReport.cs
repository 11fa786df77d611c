using ScottPlot;

namespace Hivemind.Codec.Benchmarks;

/// <summary>
/// The paired summary and the frontier plot: each setting against fp32-up / full-down DiLoCo with the same inner steps, rounds, volunteers
/// and seed (so the same tokens), as mean ± 95% CI over seeds.
/// </summary>
internal static class FrontierReport
{
    /// <summary>Student's t quantile (two-sided 95%) by degrees of freedom 1..10; beyond, 2.</summary>
    private static readonly double[] T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

    /// <summary>Largest loss penalty the issue allows (percent).</summary>
    private const double PenaltyLimit = 3;

    /// <summary>The issue's traffic target against per-step data-parallel fp32.</summary>
    private const double ReductionTarget = 5000;

    private const int PlotWidth = 1100;

    private const int PlotHeight = 620;

    /// <summary>A summarised setting at one inner-step count.</summary>
    public sealed record Point(string Setting, int InnerSteps, int Rounds, int Seeds, double Loss, double LossCi, double Penalty, double PenaltyCi,
        double Up, double Down, double SteadyDown, double Reduction, double SteadyReduction)
    {
        /// <summary>Whether this is fp32 DiLoCo itself (its label may carry the corpus).</summary>
        public bool IsBaseline { get; init; }
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
                var (penalty, penaltyCi) = MeanCi(mine.Select(r => 100 * (r.FinalLoss / baseline[r.Seed].FinalLoss - 1)).ToList());
                points.Add(new Point(mine[0].Label, experiment.Key.InnerSteps, experiment.Key.Rounds, mine.Count, loss, lossCi, penalty, penaltyCi,
                    mine.Average(r => r.UpPerToken), mine.Average(r => r.DownPerToken), mine.Average(r => r.SteadyDownPerToken),
                    mine.Average(r => r.Reduction), mine.Average(r => r.SteadyReduction)) { IsBaseline = setting.Key == QualitySetting.Baseline.Name });
            }
        }
        return points;
    }

    public static void Print(IReadOnlyList<RunRow> rows, IReadOnlyList<Point> points)
    {
        foreach (var first in rows.DistinctBy(r => (r.Data, r.ModelParameters)))
            Console.WriteLine($"model{(first.Data.Length > 0 ? $" on {first.Data}" : "")}: {first.ModelParameters} parameters; per-step data-parallel fp32 = 2 × {first.ModelParameters} × 4 B per step per worker = {first.DpPerToken:0} B per trained token");
        Console.WriteLine("| setting | H | rounds | seeds | loss (mean ± 95% CI) | penalty vs fp32/full, same H (paired, ± 95% CI) | up B/token | down B/token | down after first downloads | reduction vs DP | reduction after first downloads |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var p in points)
            Console.WriteLine($"| {p.Setting} | {p.InnerSteps} | {p.Rounds} | {p.Seeds} | {p.Loss:0.0000} ± {p.LossCi:0.0000} | {p.Penalty:+0.00;-0.00}% ± {p.PenaltyCi:0.00}% | {p.Up:0.000} | {p.Down:0.000} | {p.SteadyDown:0.000} | {p.Reduction:0}× | {p.SteadyReduction:0}× |");
        var within = points.Where(p => !p.IsBaseline && p.Penalty <= PenaltyLimit).OrderByDescending(p => p.SteadyReduction).FirstOrDefault();
        Console.WriteLine(within is null ? $"\nno compressed setting within {PenaltyLimit}% (mean penalty)."
            : $"\nbest within {PenaltyLimit}% (mean penalty): {within.Setting}, H = {within.InnerSteps}: {within.SteadyReduction:0}× after first downloads ({within.Reduction:0}× with them), penalty {within.Penalty:+0.00;-0.00}% ± {within.PenaltyCi:0.00}%");
    }

    /// <summary>Reduction (after first downloads, log scale) against the paired loss penalty, one marker per setting and inner-step count.</summary>
    public static void Plot(string path, IReadOnlyList<Point> points)
    {
        var p = new Plot();
        foreach (var point in points)
        {
            double x = Math.Log10(point.SteadyReduction);
            var marker = p.Add.Scatter(new[] { x }, new[] { point.Penalty });
            marker.LegendText = $"{point.Setting}, H = {point.InnerSteps}";
            marker.MarkerSize = 8;
            if (double.IsFinite(point.PenaltyCi))
            {
                var bar = p.Add.ErrorBar(new[] { x }, new[] { point.Penalty }, new[] { point.PenaltyCi });
                bar.Color = marker.Color;
            }
        }
        var limit = p.Add.HorizontalLine(PenaltyLimit);
        limit.LegendText = $"{PenaltyLimit}% penalty";
        limit.LinePattern = LinePattern.Dashed;
        var target = p.Add.VerticalLine(Math.Log10(ReductionTarget));
        target.LegendText = $"{ReductionTarget:N0}×";
        target.LinePattern = LinePattern.Dotted;
        p.Title("Traffic reduction vs per-step data-parallel fp32, and loss penalty vs fp32 DiLoCo with the same H (tiny)");
        p.XLabel("bytes per trained token, data-parallel ÷ ours, after first downloads (log10)");
        p.YLabel("held-out loss penalty vs fp32 DiLoCo, same H and tokens (%)");
        p.ShowLegend(Edge.Right);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        p.SavePng(path, PlotWidth, PlotHeight);
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
