using System.Globalization;

namespace Hivemind.Coordinator.Benchmarks;

/// <summary>Repeated timings of one operation: best and median.</summary>
internal sealed class Samples(string name)
{
    private readonly List<double> _seconds = [];

    public string Name { get; } = name;

    public void Add(double seconds) => _seconds.Add(seconds);

    public void Add(TimeSpan time) => _seconds.Add(time.TotalSeconds);

    public int Count => _seconds.Count;

    public IReadOnlyList<double> All => _seconds;

    public double Best => _seconds.Min();

    public double Median
    {
        get
        {
            var s = _seconds.Order().ToList();
            return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
        }
    }
}

internal static class Format
{
    public static string Ms(double seconds) => (seconds * 1e3).ToString("0.0", CultureInfo.InvariantCulture);

    public static string MBps(long bytes, double seconds) => (bytes / 1e6 / seconds).ToString("0", CultureInfo.InvariantCulture);

    public static string Ratio(double x) => x.ToString("0.00", CultureInfo.InvariantCulture);
}
