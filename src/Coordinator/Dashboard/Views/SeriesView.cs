namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>
/// Per-round series for the charts as parallel arrays (compact for 10,000 rounds): rounds from <c>from</c> on, with
/// their held-out and training loss (null where not measured; single precision, plenty for a chart and half the bytes)
/// and accepted tokens.
/// </summary>
public sealed record SeriesView(long From, double? OptimalLoss, long[] Round, float?[] EvalLoss, float?[] TrainLoss, long[] Tokens);
