using System.Globalization;
using Hivemind.Training;
using ScottPlot;

namespace Hivemind.Codec.Benchmarks;

/// <summary>Runs every setting for each seed, prints per-run rows and a paired summary, and draws the frontier (reduction vs loss penalty).</summary>
internal static class QualityCommand
{
    /// <summary>Student's t quantile (two-sided 95%) by degrees of freedom 1..10; beyond, 2.</summary>
    private static readonly double[] T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

    public static int Run(Args options)
    {
        int seeds = options.Get("--seeds", 3);
        int rounds = options.Get("--rounds", 12);
        int volunteers = options.Get("--volunteers", 4);
        int inner = options.Get("--inner-steps", 30);
        string which = options.Get("--settings", "all");
        string plot = options.Get("--out", "docs/benchmarks/codecs-frontier.png");
        string? csv = options.Get("--csv", "") is { Length: > 0 } c ? c : null;
        var settings = which == "all" ? QualitySetting.All
            : [QualitySetting.Baseline, .. QualitySetting.All.Where(s => which.Split(';').Contains(s.Name) && s != QualitySetting.Baseline)];
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        string scratch = Path.Combine(Path.GetTempPath(), "hivemind-codec-bench-" + Environment.ProcessId);
        Console.WriteLine($"tiny preset, {volunteers} volunteers, {rounds} rounds of H = {inner} inner steps (batch 4 × 32 bytes), {seeds} seeds");
        Console.WriteLine("| setting | seed | held-out loss | up B/token | down B/token | down B/token after first downloads | reduction vs DP | reduction after first downloads |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var results = new List<QualityResult>();
        try
        {
            for (long seed = 1; seed <= seeds; seed++)
            {
                foreach (var s in settings)
                {
                    var r = QualityRun.Run(s, seed, volunteers, rounds, inner, scratch);
                    results.Add(r);
                    Console.WriteLine($"| {s.Name} | {seed} | {r.FinalLoss:0.0000} | {Up(r):0.000} | {Down(r):0.000} | {Steady(r):0.000} | {Reduction(r):0} | {SteadyReduction(r):0} |");
                    if (csv is not null) File.AppendAllText(csv, string.Join(',', s.Name, seed, r.FinalLoss.ToString("R", CultureInfo.InvariantCulture), r.BytesUp, r.BytesDown, r.Tokens, r.ModelParameters) + "\n");
                }
            }
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }

        var first = results[0];
        Console.WriteLine();
        Console.WriteLine($"model: {first.ModelParameters} parameters; per-step data-parallel fp32 = 2 × {first.ModelParameters} × 4 B per step per worker = {DpPerToken(first):0} B per trained token");
        Console.WriteLine("| setting | loss (mean ± 95% CI) | penalty vs fp32/full (paired, ± 95% CI) | up B/token | down B/token | down after first downloads | reduction vs DP | reduction after first downloads |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var points = new List<(string Name, double Reduction, double Penalty, double Ci)>();
        foreach (var s in settings)
        {
            var mine = results.Where(r => r.Setting == s).OrderBy(r => r.Seed).ToList();
            var baseline = results.Where(r => r.Setting == QualitySetting.Baseline).OrderBy(r => r.Seed).ToList();
            var penalties = mine.Zip(baseline, (a, b) => 100 * (a.FinalLoss / b.FinalLoss - 1)).ToList();
            var (loss, lossCi) = MeanCi(mine.Select(r => r.FinalLoss).ToList());
            var (penalty, penaltyCi) = MeanCi(penalties);
            double reduction = mine.Average(Reduction);
            double steady = mine.Average(SteadyReduction);
            points.Add((s.Name, steady, penalty, penaltyCi));
            Console.WriteLine($"| {s.Name} | {loss:0.0000} ± {lossCi:0.0000} | {penalty:+0.00;-0.00}% ± {penaltyCi:0.00}% | {mine.Average(Up):0.000} | {mine.Average(Down):0.000} | {mine.Average(Steady):0.000} | {reduction:0}× | {steady:0}× |");
        }
        Plot(plot, points, first);
        Console.WriteLine($"\nfrontier plot: {plot}");
        return 0;
    }

    private static double DpPerToken(QualityResult r) => 2.0 * r.ModelParameters * 4 / r.TokensPerStep;

    private static double Up(QualityResult r) => (double)r.BytesUp / r.Tokens;

    private static double Down(QualityResult r) => (double)r.BytesDown / r.Tokens;

    private static double Reduction(QualityResult r) => DpPerToken(r) / (Up(r) + Down(r));

    /// <summary>Down bytes per token without each volunteer's first full download (a one-time cost that a long run amortises).</summary>
    private static double Steady(QualityResult r) => (double)(r.BytesDown - r.BytesFirstDownloads) / r.Tokens;

    private static double SteadyReduction(QualityResult r) => DpPerToken(r) / (Up(r) + Steady(r));

    private static (double Mean, double Ci) MeanCi(IReadOnlyList<double> xs)
    {
        double mean = xs.Average();
        if (xs.Count < 2) return (mean, double.NaN);
        double sd = Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1));
        double t = xs.Count - 1 <= T95.Length ? T95[xs.Count - 2] : 2.0;
        return (mean, t * sd / Math.Sqrt(xs.Count));
    }

    private static void Plot(string path, List<(string Name, double Reduction, double Penalty, double Ci)> points, QualityResult first)
    {
        var p = new Plot();
        foreach (var (name, reduction, penalty, ci) in points)
        {
            double x = Math.Log10(reduction);
            var marker = p.Add.Scatter(new[] { x }, new[] { penalty });
            marker.LegendText = name;
            marker.MarkerSize = 8;
            if (double.IsFinite(ci))
            {
                var bar = p.Add.ErrorBar(new[] { x }, new[] { penalty }, new[] { ci });
                bar.Color = marker.Color;
            }
        }
        var limit = p.Add.HorizontalLine(3);
        limit.LegendText = "3% penalty";
        limit.LinePattern = LinePattern.Dashed;
        var target = p.Add.VerticalLine(Math.Log10(5000));
        target.LegendText = "5,000×";
        target.LinePattern = LinePattern.Dotted;
        p.Title($"Traffic reduction vs per-step data-parallel fp32, and loss penalty (tiny, H = {first.InnerSteps})");
        p.XLabel("bytes per trained token, data-parallel ÷ ours, after first downloads (log10)");
        p.YLabel("held-out loss penalty vs fp32 DiLoCo (%)");
        p.ShowLegend(Edge.Right);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        p.SavePng(path, 1000, 560);
    }
}
