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

    /// <summary>
    /// Expected extra start delay of a round's last leaser when <paramref name="volunteers"/> clients poll every <paramref name="retrySeconds"/>
    /// and the coordinator draws the round's units among those asking within <paramref name="drawWindowSeconds"/>, beyond the window itself
    /// (which the simulation models: its volunteers ask at the open and wait the window out).
    /// </summary>
    /// <remarks>
    /// The last submitter of a round asks again at once and opens the draw window; the other k − 1 were told to retry while every unit was
    /// leased, so they come back at independent, uniform phases U of the retry interval r. A client back within the window w enters the draw
    /// and starts with everyone at its end; a later one starts when it comes back. The last start is max(M, w) with M the latest of k − 1
    /// uniforms (P(M ≤ x) = (x/r)^(k−1)), so E[max(M, w)] − w = r − w − (r/k)(1 − (w/r)^k): (k − 1)/k of r with no window (first come), 0 once
    /// the window is at least the retry interval.
    /// </remarks>
    public static double ExpectedPollSeconds(int volunteers, double retrySeconds, double drawWindowSeconds = 0)
    {
        if (volunteers < 1 || !(retrySeconds >= 0) || !(drawWindowSeconds >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(volunteers), $"volunteers {volunteers} must be >= 1, retry {retrySeconds} s and draw window {drawWindowSeconds} s >= 0");
        }

        if (drawWindowSeconds >= retrySeconds)
        {
            return 0;
        }

        double r = retrySeconds, w = drawWindowSeconds;
        return r - w - r / volunteers * (1 - Math.Pow(w / r, volunteers));
    }

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
