namespace Hivemind.Aggregation.Kernels;

/// <summary>
/// Sort key for scores, distances and norms that ranks NaN as +∞. .NET orders NaN before every number,
/// so a NaN score (from an overflow anywhere upstream) would win Krum and a NaN distance would count as
/// the nearest neighbour; with this key NaN is the worst when sorting ascending and the largest when
/// sorting descending.
/// </summary>
internal static class NanLast
{
    public static double Key(double value) => double.IsNaN(value) ? double.PositiveInfinity : value;
}
