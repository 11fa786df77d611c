using Hivemind.Coordinator.Benchmarks;

// dotnet run -c Release --project benchmarks/Hivemind.Coordinator.Benchmarks -- submit|round|load [--reps N] [--dir PATH] ...
if (args.Length == 0 || args[0] is "-h" or "--help" || args[0] is not ("submit" or "round" or "load" or "dashboard" or "relays"))
{
    Console.WriteLine("""
        usage: Hivemind.Coordinator.Benchmarks submit [--reps 5] [--warmup 4] [--experts-per-layer 4] [--codec fp16] [--chunk-bytes 1048576] [--dir /tmp/...] [--keep]
               Hivemind.Coordinator.Benchmarks round  [--reps 3] [--updates 4] [--spot-check-probability 0] [--dir /tmp/...] [--keep]
               Hivemind.Coordinator.Benchmarks load   [--volunteers 1000] [--seconds 180] [--ramp-seconds 20] [--quorum 50] [--work-ms 3000] [--dir /tmp/...] [--keep]
               Hivemind.Coordinator.Benchmarks relays [--volunteers 6] [--relays 0,2,4] [--rounds 3] [--preset small] [--inner-steps 2] [--dir /tmp/...] [--keep]
               Hivemind.Coordinator.Benchmarks relays --parallel 1,3 [--downloads 3] [--relay-upload-kib 4096] [--preset small] [--dir /tmp/...] [--keep]
               Hivemind.Coordinator.Benchmarks dashboard [--volunteers 1000] [--rounds 10000] [--requests 500] [--warmup 50] [--dir /tmp/...] [--keep]
          submit  one ~100 MB update of the 'base' preset through the real Kestrel/gRPC SubmitUpdate path,
                  against loopback gRPC to a sink, SHA-256 and an fsync'd write of the same bytes.
          round   end of a 'small' round (Tick: aggregate, outer step, checkpoint, eval) against the
                  aggregation time of the same updates, for 'mean' and 'trimmed-mean(f=1)', eval on and off.
          load    simulated volunteers (no TorchSharp: join, lease, download, heartbeat, submit tiny updates) against a
                  real `serve --preset tiny` process on loopback; p50/p99 per call, errors by status and reason,
                  the coordinator's RSS over time; exit code 1 if any call failed.
          relays  the coordinator's egress per round and the round time with 0, 2 and 4 relays among 6 real volunteers on loopback
                  (issue 17); exit code 1 if 4 relays do not halve the egress.
          relays --parallel  one volunteer's chunked download from 1 or 3 upload-capped relays in parallel: time and coordinator egress.
          dashboard  latency percentiles of the dashboard's JSON API and /metrics on a generated store of that size.
          submit --poll-dashboard  the submit benchmark with the dashboard on and polled once a second, as an open page does.
          submit --poll-pairs 6 [--per-arm 2]  interleaved pairs in one process: submissions with the dashboard polled once a
                  second against the same without polling; prints the polled/unpolled time ratio with a 95% interval.
        """);
    return args.Length == 0 ? 2 : 0;
}
var options = Args.Parse(args[1..]);
string root = options.Get("--dir", Path.Combine(Path.GetTempPath(), "hivemind-coordinator-bench-" + Environment.ProcessId));
Directory.CreateDirectory(root);
try
{
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores; {Machine.Load()}; data under {root}");
    return args[0] switch
    {
        "submit" => await SubmitBenchmark.RunAsync(options, root),
        "load" => await Hivemind.Coordinator.Benchmarks.Load.LoadCommand.RunAsync(options, root),
        "dashboard" => await DashboardBenchmark.RunAsync(options, root),
        "relays" => await RelayBenchmark.RunAsync(options, root),
        _ => RoundBenchmark.Run(options, root),
    };
}
finally
{
    if (!options.Has("--keep")) Directory.Delete(root, recursive: true);
}

internal sealed class Args(Dictionary<string, string> values)
{
    public static Args Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
            bool flag = i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal);
            values[args[i]] = flag ? "true" : args[++i];
        }
        return new Args(values);
    }

    public bool Has(string name) => values.ContainsKey(name);

    public string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public int Get(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
}

internal static class Machine
{
    /// <summary>The load averages, as `uptime` shows them (other work on the machine skews absolute numbers; ratios less so).</summary>
    public static string Load() =>
        File.Exists("/proc/loadavg") ? "load average " + string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "load unknown";
}
