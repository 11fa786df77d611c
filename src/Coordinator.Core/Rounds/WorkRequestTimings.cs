using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// Where the server-side time of <see cref="CoordinatorEngine.RequestWorkAsync"/> goes, per phase (authentication, waiting for the
/// engine's lock, the decision under it, the wait for the lease's durable commit), in power-of-two histograms updated without a lock.
/// The host logs <see cref="Summary"/> at shutdown; the load test reads it from the log to tell the server's share of a slow lease
/// from the client's.
/// </summary>
public sealed class WorkRequestTimings
{
    /// <summary>The phases of one ask, in order.</summary>
    public enum Phase
    {
        /// <summary>Session and volunteer lookup, before the engine's lock.</summary>
        Authenticate,

        /// <summary>From asking for the engine's lock to holding it.</summary>
        LockWait,

        /// <summary>The decision (draw, caps, planner) while holding the lock.</summary>
        Locked,

        /// <summary>A leased unit's wait for its batch's durable commit (zero for "no work").</summary>
        CommitWait,

        /// <summary>The whole call inside the engine.</summary>
        Total,
    }

    /// <summary>Bucket i counts durations below 2^i × <see cref="SmallestBucketMs"/>; the last bucket counts the rest.</summary>
    private const int Buckets = 16;

    /// <summary>Upper bound of the first bucket (milliseconds).</summary>
    private const double SmallestBucketMs = 0.125;

    /// <summary>Durations above this count as slow in the summary (the load test's p99 target).</summary>
    public const double SlowMs = 100;

    private static readonly int PhaseCount = Enum.GetValues<Phase>().Length;

    // [outcome (0 no work, 1 unit), phase, bucket]
    private readonly long[] _counts = new long[2 * PhaseCount * Buckets];
    private readonly long[] _slow = new long[2 * PhaseCount];
    private readonly long[] _maxTicks = new long[2 * PhaseCount];
    private long _duringClose;
    private long _slowDuringClose;

    /// <summary>Records one ask: the phase durations in <see cref="Stopwatch"/> ticks, whether it got a unit and whether a round was closing.</summary>
    public void Record(long authenticate, long lockWait, long locked, long commitWait, bool unit, bool duringClose)
    {
        int outcome = unit ? 1 : 0;
        long total = authenticate + lockWait + locked + commitWait;
        Add(outcome, Phase.Authenticate, authenticate);
        Add(outcome, Phase.LockWait, lockWait);
        Add(outcome, Phase.Locked, locked);
        Add(outcome, Phase.CommitWait, commitWait);
        bool slow = Add(outcome, Phase.Total, total);
        if (!duringClose) return;
        Interlocked.Increment(ref _duringClose);
        if (slow) Interlocked.Increment(ref _slowDuringClose);
    }

    /// <summary>Asks recorded with this outcome.</summary>
    public long Count(bool unit) => Enumerable.Range(0, Buckets).Sum(b => Interlocked.Read(ref _counts[Index(unit ? 1 : 0, Phase.Total) * Buckets + b]));

    /// <summary>One line per outcome and phase: count, p50 and p99 (bucket upper bounds), max, and how many took over <see cref="SlowMs"/>.</summary>
    public string Summary()
    {
        var text = new StringBuilder();
        foreach (var (outcome, name) in new[] { (0, "no work"), (1, "unit") })
        {
            foreach (var phase in Enum.GetValues<Phase>())
            {
                int i = Index(outcome, phase);
                var counts = Enumerable.Range(0, Buckets).Select(b => Interlocked.Read(ref _counts[i * Buckets + b])).ToArray();
                long n = counts.Sum();
                if (n == 0) continue;
                text.Append(CultureInfo.InvariantCulture,
                    $"request-work phase: {name,-7} {phase,-12} n={n} p50<={Quantile(counts, n, 0.50)} ms p99<={Quantile(counts, n, 0.99)} ms " +
                    $"max={Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _maxTicks[i])).TotalMilliseconds:0.0} ms over{SlowMs:0}ms={Interlocked.Read(ref _slow[i])}\n");
            }
        }
        text.Append(CultureInfo.InvariantCulture, $"request-work phase: asks decided while a round was closing: {Interlocked.Read(ref _duringClose)}, of them over {SlowMs:0} ms: {Interlocked.Read(ref _slowDuringClose)}");
        return text.ToString();
    }

    private static int Index(int outcome, Phase phase) => outcome * PhaseCount + (int)phase;

    /// <summary>Adds one duration; true when it is over <see cref="SlowMs"/>.</summary>
    private bool Add(int outcome, Phase phase, long ticks)
    {
        int i = Index(outcome, phase);
        double ms = Stopwatch.GetElapsedTime(0, ticks).TotalMilliseconds;
        int bucket = 0;
        for (double bound = SmallestBucketMs; bucket < Buckets - 1 && ms >= bound; bound *= 2) bucket++;
        Interlocked.Increment(ref _counts[i * Buckets + bucket]);
        long max;
        while (ticks > (max = Interlocked.Read(ref _maxTicks[i])) && Interlocked.CompareExchange(ref _maxTicks[i], ticks, max) != max) { }
        if (ms <= SlowMs) return false;
        Interlocked.Increment(ref _slow[i]);
        return true;
    }

    /// <summary>The upper bound of the bucket holding the <paramref name="q"/> quantile ("inf" for the last bucket).</summary>
    private static string Quantile(long[] counts, long n, double q)
    {
        long rank = (long)Math.Ceiling(q * n);
        long seen = 0;
        for (int b = 0; b < counts.Length; b++)
        {
            seen += counts[b];
            if (seen >= rank) return b == counts.Length - 1 ? "inf" : (SmallestBucketMs * Math.Pow(2, b)).ToString("0.###", CultureInfo.InvariantCulture);
        }
        return "inf";
    }
}
