namespace Hivemind.Simulations.Reports;

/// <summary>One line of a plot: its legend label and points.</summary>
public sealed record PlotSeries(string Label, double[] X, double[] Y);
