namespace Hivemind.Simulations.Timing;

/// <summary>Seconds to move bytes over a link: one latency plus bytes at the link rate.</summary>
public static class TransferTime
{
    private const double BitsPerByte = 8;
    private const double BitsPerMegabit = 1e6;

    /// <summary>Latency plus <paramref name="bytes"/> at <paramref name="megabitsPerSecond"/>.</summary>
    public static double Seconds(double bytes, double megabitsPerSecond, double latencySeconds) =>
        latencySeconds + bytes * BitsPerByte / (megabitsPerSecond * BitsPerMegabit);
}
