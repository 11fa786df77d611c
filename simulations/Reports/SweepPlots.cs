using Hivemind.Simulations.Running;
using Hivemind.Simulations.Scale;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Reports;

/// <summary>Chooses and draws the sweep's plots: utilization, tokens/s (with cluster levels) and bytes per token.</summary>
public static class SweepPlots
{
    // An axis spanning more than this ratio is drawn on a log scale.
    private const double LogScaleSpan = 20;
    private const double Percent = 100;

    /// <summary>Draws the plots that the swept axes allow; returns (file, caption) pairs.</summary>
    public static IReadOnlyList<(string File, string Caption)> Write(ScenarioOutcome o, IReadOnlyList<SweepAxis> axes, string folder)
    {
        var written = new List<(string, string)>();
        var numeric = axes.Where(a => a.Numeric && o.Sweep.Select(a.Value).Distinct().Count() > 1).ToList();
        if (numeric.Count == 0)
        {
            return written;
        }

        var throughputX = numeric[0];
        var bytesX = numeric.FirstOrDefault(a => a == SweepAxis.InnerSteps) ?? throughputX;
        var levels = o.Scenario.ClusterMatch?.Clusters.Select(c =>
        {
            var table = new DeviceTable(o.Scenario.Devices.Select(d => d.ToSpec()));
            var spec = table[c.Device];
            return (c.Name, new ClusterTarget(c.Name, spec, c.Count, c.Utilization ?? spec.Utilization).TokensPerSecond(o.Base.Model));
        }).ToList();

        written.Add(Draw(o, axes, throughputX, folder, "utilization.png", "Compute utilization", "utilization (%)", r => r.ComputeUtilization * Percent, false, null));
        written.Add(Draw(o, axes, throughputX, folder, "tokens-per-second.png", "Tokens per second", "tokens/s", r => r.TokensPerSecond, true, levels));
        written.Add(Draw(o, axes, bytesX, folder, "bytes-per-token.png", "Bytes per token", "bytes/token", r => r.BytesPerToken, true, null));
        return written;
    }

    private static (string, string) Draw(
        ScenarioOutcome o, IReadOnlyList<SweepAxis> axes, SweepAxis x, string folder, string file, string title, string yLabel,
        Func<ScaleResult, double> metric, bool logY, IReadOnlyList<(string, double)>? levels)
    {
        var others = axes.Where(a => a != x).ToList();
        var series = o.Sweep
            .GroupBy(r => string.Join(", ", others.Select(a => $"{a.Column} {a.Text(r)}")))
            .Select(g => new PlotSeries(g.Key.Length == 0 ? title : g.Key, g.Select(x.Value).ToArray(), g.Select(r => metric(r.Result)).ToArray()))
            .ToList();
        var xs = o.Sweep.Select(x.Value).Where(v => v > 0).ToList();
        bool logX = xs.Count > 0 && xs.Max() / xs.Min() > LogScaleSpan;
        string caption = $"{title} against {x.Column}";
        LinePlot.Save(Path.Combine(folder, file), $"{o.Scenario.Name}: {caption}", x.Column, yLabel, logX, logY, series, levels);
        return (file, caption);
    }
}
