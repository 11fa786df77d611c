using System.Globalization;

namespace Hivemind.Training.Benchmarks;

/// <summary>The 1-minute load average from /proc/loadavg: how many other runnable processes shared the cores.</summary>
internal static class LoadAverage
{
    /// <summary>NaN where /proc/loadavg does not exist (not Linux).</summary>
    public static double OneMinute()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
        catch (UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }
}
