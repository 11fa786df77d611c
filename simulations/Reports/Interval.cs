using System.Globalization;

namespace Hivemind.Simulations.Reports;

/// <summary>Mean and two-sided 95% Student-t interval of a few repeats (seeds); one value has no interval.</summary>
public sealed record Interval(double Mean, double Low, double High, int Count)
{
    // Two-sided 95% quantiles of Student's t for 1 to 10 degrees of freedom; beyond, the normal 1.96 is within 5%.
    private static readonly double[] T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
    private const double NormalQuantile = 1.96;

    /// <summary>Whether there are at least two finite values, so the interval means something.</summary>
    public bool HasInterval => Count >= 2 && double.IsFinite(Low) && double.IsFinite(High);

    /// <summary>The interval of <paramref name="values"/>; an infinite value (a diverged run) makes the mean and the high end infinite.</summary>
    public static Interval Of(IReadOnlyList<double> values)
    {
        int n = values.Count;
        if (n == 0) return new Interval(double.NaN, double.NaN, double.NaN, 0);
        double mean = values.Average();
        if (n == 1 || !double.IsFinite(mean)) return new Interval(mean, double.NegativeInfinity, double.PositiveInfinity, n);
        double sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        double t = n - 1 <= T95.Length ? T95[n - 2] : NormalQuantile;
        double half = t * sd / Math.Sqrt(n);
        return new Interval(mean, mean - half, mean + half, n);
    }

    /// <summary>"1.23 [1.10, 1.36]", or the mean alone without an interval.</summary>
    public string Text(string format = "F3")
    {
        string F(double v) => double.IsNaN(v) ? "n/a" : double.IsPositiveInfinity(v) ? "∞" : double.IsNegativeInfinity(v) ? "−∞" : v.ToString(format, CultureInfo.InvariantCulture);
        return HasInterval ? $"{F(Mean)} [{F(Low)}, {F(High)}]" : $"{F(Mean)} (n={Count}, no interval)";
    }
}
