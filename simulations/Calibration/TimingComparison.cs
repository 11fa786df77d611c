namespace Hivemind.Simulations.Calibration;

/// <summary>The check-timing arithmetic: the prediction of a round's wall time, and its error against the measured one.</summary>
public static class TimingComparison
{
    /// <summary>The bound on |predicted − measured| ÷ measured.</summary>
    public const double DefaultTolerance = 0.25;

    /// <summary>
    /// Throughput share of one single-threaded volunteer when <paramref name="processes"/> of them train on <paramref name="cores"/>
    /// cores while other programs keep <paramref name="backgroundBusyCores"/> cores busy on average.
    /// </summary>
    /// <remarks>Each volunteer trains on one thread; past one runnable thread per core the scheduler time-shares the cores equally.</remarks>
    public static double CoreShare(int processes, int cores, double backgroundBusyCores = 0)
    {
        if (processes < 1 || cores < 1 || !(backgroundBusyCores >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(processes), $"processes {processes} and cores {cores} must be >= 1 and background busy cores {backgroundBusyCores} >= 0");
        }

        return Math.Min(1.0, cores / (processes + backgroundBusyCores));
    }

    /// <summary>Expected extra start delay of a round's last leaser when <paramref name="volunteers"/> clients poll every <paramref name="retrySeconds"/>.</summary>
    /// <remarks>
    /// The last submitter of a round asks again at once and gets the next unit; the other k − 1 were told to retry while every
    /// unit was leased, so they come back at independent, uniform phases of the retry interval: the latest of k − 1 uniforms
    /// averages (k − 1) / k of it.
    /// </remarks>
    public static double ExpectedPollSeconds(int volunteers, double retrySeconds) =>
        volunteers < 1 ? throw new ArgumentOutOfRangeException(nameof(volunteers), $"volunteers {volunteers} must be >= 1")
            : retrySeconds * (volunteers - 1) / volunteers;

    /// <summary>
    /// Predicted wall seconds per round of a real loopback run: the simulated round (open → next open) with its modelled
    /// close replaced by the longer of the close and the clients' expected poll delay (<see cref="ExpectedPollSeconds"/>).
    /// </summary>
    /// <remarks>The virtual volunteers lease the moment a round opens; real clients poll, and the close overlaps that wait.</remarks>
    public static double PredictedRoundSeconds(double simulatedRoundSeconds, double closeSeconds, double pollSeconds) =>
        simulatedRoundSeconds - closeSeconds + Math.Max(closeSeconds, pollSeconds);

    /// <summary>|predicted − measured| ÷ measured.</summary>
    public static double RelativeError(double predicted, double measured) =>
        measured > 0 ? Math.Abs(predicted - measured) / measured
            : throw new ArgumentOutOfRangeException(nameof(measured), $"measured round time {measured} s must be > 0; the loopback run closed no timed round");

    /// <summary>Whether the prediction is within <paramref name="tolerance"/> of the measurement.</summary>
    public static bool Within(double predicted, double measured, double tolerance = DefaultTolerance) =>
        RelativeError(predicted, measured) <= tolerance;

    /// <summary>Mean gap between consecutive close times, skipping the first <paramref name="warmup"/> rounds (join, JIT, TorchSharp start-up).</summary>
    public static double MeanRoundSeconds(IReadOnlyList<double> closeTimes, int warmup)
    {
        int gaps = closeTimes.Count - 1 - warmup;
        if (gaps < 1)
        {
            throw new ArgumentException($"{closeTimes.Count} close times leave no round after {warmup} warm-up rounds; run at least {warmup + 2} rounds", nameof(closeTimes));
        }

        return (closeTimes[^1] - closeTimes[warmup]) / gaps;
    }
}
