using System.Globalization;

namespace Hivemind.Simulations.Reports;

/// <summary>Culture-invariant number formatting, so reports are byte-identical on every machine.</summary>
public static class Num
{
    private const double Thousand = 1e3;
    private const double Million = 1e6;
    private const double Billion = 1e9;
    private const double Trillion = 1e12;
    private const double Percent = 100;

    /// <summary>Four significant digits, "n/a" for NaN.</summary>
    public static string G(double v) => double.IsNaN(v) ? "n/a" : double.IsInfinity(v) ? "∞" : v.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>A fraction as a percentage with one decimal.</summary>
    public static string Pct(double fraction) => double.IsNaN(fraction) ? "n/a" : (fraction * Percent).ToString("F1", CultureInfo.InvariantCulture) + "%";

    /// <summary>An integer with thousands separators.</summary>
    public static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A large count with a K/M/B/T suffix.</summary>
    public static string Si(double v) => Math.Abs(v) switch
    {
        >= Trillion => G(v / Trillion) + "T",
        >= Billion => G(v / Billion) + "B",
        >= Million => G(v / Million) + "M",
        >= Thousand => G(v / Thousand) + "K",
        _ => G(v),
    };

    /// <summary>A byte count with a decimal unit ("2.267 GB").</summary>
    public static string Bytes(double v) => Math.Abs(v) switch
    {
        >= Trillion => G(v / Trillion) + " TB",
        >= Billion => G(v / Billion) + " GB",
        >= Million => G(v / Million) + " MB",
        >= Thousand => G(v / Thousand) + " kB",
        _ => G(v) + " B",
    };

    /// <summary>Invariant "R" round-trip form for CSV cells.</summary>
    public static string Csv(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
}
