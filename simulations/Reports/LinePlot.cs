using ScottPlot;

namespace Hivemind.Simulations.Reports;

/// <summary>Draws line plots to PNG with ScottPlot; log axes are drawn as log10 values with 10^k tick labels.</summary>
public static class LinePlot
{
    private const int Width = 900;
    private const int Height = 560;
    private const float MarkerSize = 6;

    /// <summary>Saves a plot of <paramref name="series"/> (and dashed horizontal <paramref name="levels"/>) to <paramref name="path"/>.</summary>
    public static void Save(
        string path, string title, string xLabel, string yLabel, bool logX, bool logY,
        IReadOnlyList<PlotSeries> series, IReadOnlyList<(string Label, double Y)>? levels = null)
    {
        var plot = new Plot();
        foreach (var s in series)
        {
            var points = s.X.Zip(s.Y).Where(p => Plottable(p.First, logX) && Plottable(p.Second, logY)).ToArray();
            if (points.Length == 0)
            {
                continue;
            }

            var scatter = plot.Add.Scatter(
                points.Select(p => Transform(p.First, logX)).ToArray(), points.Select(p => Transform(p.Second, logY)).ToArray());
            scatter.LegendText = s.Label;
            scatter.MarkerSize = MarkerSize;
        }

        foreach (var (label, y) in levels ?? [])
        {
            if (!Plottable(y, logY))
            {
                continue;
            }

            var line = plot.Add.HorizontalLine(Transform(y, logY));
            line.LegendText = label;
            line.LinePattern = LinePattern.Dashed;
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (logX)
        {
            plot.Axes.Bottom.TickGenerator = LogTicks();
        }

        if (logY)
        {
            plot.Axes.Left.TickGenerator = LogTicks();
        }

        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, Width, Height);
    }

    private static bool Plottable(double v, bool log) => double.IsFinite(v) && (!log || v > 0);

    private static double Transform(double v, bool log) => log ? Math.Log10(v) : v;

    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = y => Num.Si(Math.Pow(10, y)),
    };
}
