using System.Diagnostics;
using System.Globalization;
using Grpc.Net.Client;
using Hivemind.Protocol.Identity;

namespace Hivemind.Coordinator.Benchmarks.Load;

/// <summary>
/// `load`: N simulated volunteers (<see cref="SimulatedVolunteer"/>, no TorchSharp) against a real `serve` process on
/// loopback for a fixed time. Reports latency percentiles per call, errors by call, status and reason, and the
/// coordinator's RSS over time; exits 1 if any call failed.
/// </summary>
internal static class LoadCommand
{
    /// <summary>Bound on the coordinator's start-up (libtorch, the tiny model, the store).</summary>
    private static readonly TimeSpan StartPatience = TimeSpan.FromMinutes(2);

    /// <summary>Bound on volunteers finishing their current call after the run's end.</summary>
    private static readonly TimeSpan DrainPatience = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(Args args, string root)
    {
        var defaults = new LoadSettings();
        var settings = defaults with
        {
            Volunteers = args.Get("--volunteers", defaults.Volunteers),
            Duration = TimeSpan.FromSeconds(args.Get("--seconds", (int)defaults.Duration.TotalSeconds)),
            Ramp = TimeSpan.FromSeconds(args.Get("--ramp-seconds", (int)defaults.Ramp.TotalSeconds)),
            Quorum = args.Get("--quorum", defaults.Quorum),
            WorkTime = TimeSpan.FromMilliseconds(args.Get("--work-ms", (int)defaults.WorkTime.TotalMilliseconds)),
        };
        if (settings.Volunteers < 1 || settings.Duration <= TimeSpan.Zero || settings.Quorum < 1)
        {
            Console.Error.WriteLine("error: --volunteers, --seconds and --quorum must be at least 1.");
            return 2;
        }
        Console.WriteLine($"load: {settings.Volunteers} simulated volunteers for {settings.Duration.TotalSeconds:0} s (joins over {settings.Ramp.TotalSeconds:0} s), " +
                          $"quorum {settings.Quorum}, {settings.WorkTime.TotalMilliseconds:0} ms of simulated training per unit, heartbeat every {settings.HeartbeatInterval.TotalSeconds:0.#} s");
        string[] serveArgs = settings.ServeArguments(Path.Combine(root, "coordinator"));
        Console.WriteLine($"coordinator: Hivemind.Coordinator {string.Join(' ', serveArgs)}");

        using var coordinator = CoordinatorProcess.Start(serveArgs, Path.Combine(root, "coordinator.log"));
        string address = await coordinator.AddressAsync(StartPatience);
        var rss = new List<(TimeSpan At, long Bytes)>();
        var stats = new LoadStats();
        var clock = Stopwatch.StartNew();
        Record(rss, clock, coordinator);

        using var stop = new CancellationTokenSource(settings.Ramp + settings.Duration);
        var volunteers = new List<Task>();
        var identities = new List<VolunteerIdentity>();
        var channels = new List<GrpcChannel>();
        var sampler = SampleRssAsync(rss, clock, coordinator, settings.RssEvery, stop.Token);
        var probe = ProbeSchedulingAsync(stats, stop.Token);
        try
        {
            for (int i = 0; i < settings.Volunteers; i++)
            {
                // One channel (HTTP/2 connection) per volunteer, as separate machines would have.
                var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 8 << 20, MaxSendMessageSize = 8 << 20 });
                var identity = VolunteerIdentity.Create();
                channels.Add(channel);
                identities.Add(identity);
                var volunteer = new SimulatedVolunteer(new Protocol.V1.Coordinator.CoordinatorClient(channel), identity, settings, stats, seed: i);
                var delay = settings.Ramp * i / settings.Volunteers;
                volunteers.Add(Task.Run(async () =>
                {
                    await Task.Delay(delay, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                    await volunteer.RunAsync(stop.Token);
                }));
            }
            await Task.WhenAll(volunteers).WaitAsync(settings.Ramp + settings.Duration + DrainPatience);
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
            await probe;
            foreach (var c in channels) c.Dispose();
            foreach (var identity in identities) identity.Dispose();
        }
        Record(rss, clock, coordinator);
        coordinator.Dispose(); // its shutdown lines carry the server-side phase timings

        Console.WriteLine();
        Console.WriteLine($"after {clock.Elapsed.TotalSeconds:0} s; {Machine.Load()}; coordinator rounds closed: {coordinator.RoundsClosed}");
        stats.Print(Console.Out);
        Console.WriteLine();
        Console.WriteLine("coordinator RSS (VmRSS from /proc/<pid>/status):");
        foreach (var (at, bytes) in rss) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {at.TotalSeconds,6:0} s  {bytes / 1048576.0,8:0.0} MiB"));
        if (rss.Count > 0) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  max {rss.Max(r => r.Bytes) / 1048576.0:0.0} MiB"));
        Console.WriteLine();
        Console.WriteLine("coordinator's own timing (server side, from its shutdown log):");
        // The console logger joins a multi-line message into one line: one phase per printed line again.
        foreach (var line in coordinator.TimingLines.SelectMany(l => l.Split(" request-work phase: ")))
            Console.WriteLine($"  {line}");
        PrintSlowLeases(stats, coordinator.CloseTimes);
        stats.WriteCalls(Path.Combine(root, "calls.tsv"), coordinator.CloseTimes);
        if (stats.ErrorCount > 0)
        {
            Console.WriteLine("coordinator's last lines:");
            Console.WriteLine(coordinator.Tail());
        }
        return stats.ErrorCount == 0 ? 0 : 1;
    }

    /// <summary>How often the client's scheduling probe wakes.</summary>
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// The client's own scheduling delay: how late a timer continuation runs on the thread pool the simulated volunteers share. A slow
    /// lease seen by the client while this is high is (partly) the client's, not the coordinator's.
    /// </summary>
    private static async Task ProbeSchedulingAsync(LoadStats stats, CancellationToken ct)
    {
        await Task.Yield();
        while (!ct.IsCancellationRequested)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                await Task.Delay(ProbeInterval, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            stats.Record("client scheduling probe (timer lateness)", (Stopwatch.GetElapsedTime(start) - ProbeInterval).TotalMilliseconds);
        }
    }

    /// <summary>Where the slow leases fall relative to the round closes: their start and end times minus the end of the nearest close.</summary>
    private static void PrintSlowLeases(LoadStats stats, List<long> closes)
    {
        var slow = stats.SlowLeases.ToArray();
        Console.WriteLine();
        Console.WriteLine($"lease calls over {LoadStats.SlowLeaseMs:0} ms: {slow.Length} ({slow.Count(s => s.Unit)} got a unit); rounds closed: {closes.Count}");
        if (slow.Length == 0 || closes.Count == 0) return;
        // The start says what was happening when a call was sent; the end says what it waited for (a call held by a close ends just
        // after that close's line).
        PrintOffsets("start", slow.Select(s => s.Start), closes);
        PrintOffsets("end", slow.Select(s => s.Start + (long)(s.Ms / 1000 * Stopwatch.Frequency)), closes);
    }

    private static void PrintOffsets(string what, IEnumerable<long> times, List<long> closes)
    {
        double[] bounds = [-5, -2, -1, -0.5, -0.2, 0, 0.2, 0.5, 1, 2, 5];
        var counts = new int[bounds.Length + 1];
        foreach (long time in times)
        {
            // Offset from the nearest close end, in seconds (negative: before that close's line arrived).
            double offset = closes.Select(c => (time - c) / (double)Stopwatch.Frequency).MinBy(Math.Abs);
            int b = 0;
            while (b < bounds.Length && offset >= bounds[b]) b++;
            counts[b]++;
        }
        Console.WriteLine($"  {what} of the slow call relative to the nearest 'round N closed' line (s): count");
        for (int b = 0; b <= bounds.Length; b++)
        {
            string lo = b == 0 ? "-inf" : bounds[b - 1].ToString(CultureInfo.InvariantCulture);
            string hi = b == bounds.Length ? "+inf" : bounds[b].ToString(CultureInfo.InvariantCulture);
            Console.WriteLine($"    [{lo}, {hi}): {counts[b]}");
        }
    }

    private static async Task SampleRssAsync(List<(TimeSpan, long)> rss, Stopwatch clock, CoordinatorProcess coordinator, TimeSpan every, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(ct)) Record(rss, clock, coordinator);
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
    }

    private static void Record(List<(TimeSpan, long)> rss, Stopwatch clock, CoordinatorProcess coordinator)
    {
        if (coordinator.ResidentBytes() is { } bytes)
            lock (rss) rss.Add((clock.Elapsed, bytes));
    }
}
