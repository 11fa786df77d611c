using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Benchmarks.Load;

/// <summary>Latencies per call kind and failures by call, status and reason, gathered from every simulated volunteer.</summary>
internal sealed class LoadStats
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<double>> _latencies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _advised = new(StringComparer.Ordinal);
    private long _noWork;

    public long ErrorCount => _errors.Values.Sum();

    public long NoWorkReplies => Interlocked.Read(ref _noWork);

    public void CountNoWork() => Interlocked.Increment(ref _noWork);

    /// <summary>
    /// Times <paramref name="call"/> under <paramref name="kind"/>; a failure is counted (not timed) and rethrown. A refusal that carries the
    /// coordinator's retry advice (admission control under overload) is counted apart: it is the designed answer, retried as advised.
    /// </summary>
    public async Task<T> TimeAsync<T>(string kind, Func<Task<T>> call)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            T result = await call();
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            _latencies.GetOrAdd(kind, _ => []).Add(ms);
            Calls.Enqueue((kind, start, ms));
            return result;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
        {
            CountFailure(kind, e);
            throw;
        }
    }

    /// <summary>Adds a latency measured by the caller (a call whose kind depends on its reply, or the scheduling probe).</summary>
    public void Record(string kind, double ms) => _latencies.GetOrAdd(kind, _ => []).Add(ms);

    /// <summary>Counts a failure of a call timed by hand as <see cref="TimeAsync{T}"/> counts its own.</summary>
    public void CountFailure(string kind, RpcException e)
    {
        if (e.StatusCode == StatusCode.Cancelled) return;
        string reason = RejectReasons.TryGetReason(e, out var r) ? RejectReasons.Token(r) : "no reason trailer";
        var counts = RejectReasons.RetryAfter(e) is null ? _errors : _advised;
        counts.AddOrUpdate($"{kind}: {e.StatusCode} / {reason}", 1, (_, n) => n + 1);
    }

    /// <summary>Start times (<see cref="Stopwatch"/> timestamps) and latencies of lease calls slower than <see cref="SlowLeaseMs"/>.</summary>
    public ConcurrentQueue<(long Start, double Ms, bool Unit)> SlowLeases { get; } = new();

    /// <summary>
    /// Every timed call's kind, start (<see cref="Stopwatch"/> timestamp: CLOCK_MONOTONIC on Linux, so a sampler of /proc can line its
    /// samples up with the calls) and latency; written to calls.tsv beside the run's data.
    /// </summary>
    public ConcurrentQueue<(string Kind, long Start, double Ms)> Calls { get; } = new();

    /// <summary>Writes <see cref="Calls"/> as tab-separated kind, start (seconds of the monotonic clock) and milliseconds, and the round closes' lines as "close".</summary>
    public void WriteCalls(string path, IEnumerable<long> closes)
    {
        using var w = new StreamWriter(path);
        foreach (long close in closes) w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"close\t{close / (double)Stopwatch.Frequency:0.000000}\t0"));
        foreach (var (kind, start, ms) in Calls)
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kind}\t{start / (double)Stopwatch.Frequency:0.000000}\t{ms:0.###}"));
    }

    /// <summary>A lease call slower than this is kept for the correlation with round closes (issue 9's p99 target).</summary>
    public const double SlowLeaseMs = 100;

    public void Print(TextWriter output)
    {
        output.WriteLine("| call | count | p50 ms | p99 ms | max ms |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (kind, bag) in _latencies.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var sorted = bag.Order().ToArray();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {kind} | {sorted.Length} | {Percentile(sorted, 0.50):0.0} | {Percentile(sorted, 0.99):0.0} | {sorted[^1]:0.0} |"));
        }
        output.WriteLine();
        output.WriteLine($"'no work, retry later' replies (not errors): {NoWorkReplies}");
        output.WriteLine(_errors.IsEmpty ? "errors: 0" : $"errors: {ErrorCount}");
        foreach (var (what, count) in _errors.OrderByDescending(p => p.Value)) output.WriteLine($"  {count,8}  {what}");
        output.WriteLine($"refused with retry advice (admission control; retried after the advice, not errors): {_advised.Values.Sum()}");
        foreach (var (what, count) in _advised.OrderByDescending(p => p.Value)) output.WriteLine($"  {count,8}  {what}");
    }

    /// <summary>Nearest-rank percentile of a sorted sample.</summary>
    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
