using System.Diagnostics;
using System.Globalization;
using System.Net;
using Grpc.Net.Client;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Reachability;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Relay;
using Hivemind.Volunteer.Work;
using Microsoft.Extensions.Logging;

namespace Hivemind.Coordinator.Benchmarks;

/// <summary>
/// Issue 17: the coordinator's egress per round, and the round time, with 0, 2 and 4 relays among 6 volunteers on loopback. Every
/// volunteer is a real VolunteerClient (TorchSharp training, gRPC to a real Kestrel coordinator, its own download cache); relays run
/// their own Kestrel relay, pass the dial-back and register exactly as `--relay` does. Egress is the coordinator's own count of
/// parameter bytes it streamed (what `hivemind_bytes_total{direction="out"}` reports).
/// </summary>
internal static class RelayBenchmark
{
    public static async Task<int> RunAsync(Args args, string root)
    {
        if (args.Has("--parallel")) return await RelayParallelBenchmark.RunAsync(args, root);
        int volunteers = args.Get("--volunteers", 6);
        int rounds = args.Get("--rounds", 3);
        string preset = args.Get("--preset", "small");
        int innerSteps = args.Get("--inner-steps", 2);
        var relayCounts = args.Get("--relays", "0,2,4").Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToList();
        if (relayCounts.Any(k => k < 0 || k > volunteers)) throw new ArgumentException($"--relays {string.Join(",", relayCounts)}: each count must be 0..{volunteers}.");
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);

        var rows = new List<Row>();
        foreach (var k in relayCounts)
        {
            var row = await MeasureAsync(Path.Combine(root, $"relays-{k}"), preset, volunteers, k, rounds, innerSteps);
            rows.Add(row);
            Console.WriteLine($"  {k} relays: {row.Egress / (double)rounds / 1e6:0.0} MB out per round, relays served {row.RelayServed / (double)rounds / 1e6:0.0} MB per round, " +
                              $"downloads from relays {row.FromRelays}, from the coordinator {row.FromCoordinator}, relay faults {row.Faults}, median round {row.MedianRound.TotalSeconds:0.0} s");
        }
        double baseline = rows.FirstOrDefault(r => r.Relays == 0)?.Egress ?? double.NaN;
        Console.WriteLine();
        Console.WriteLine($"## relays: '{preset}', {volunteers} volunteers (every expert each), {rounds} rounds per row, {innerSteps} inner steps, {Machine.Load()}");
        Console.WriteLine();
        Console.WriteLine("| relays | coordinator egress per round MB | relative to 0 relays | relays' upload per round MB | downloads from relays / coordinator | relay faults | median round s |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            Console.WriteLine($"| {r.Relays} | {r.Egress / (double)rounds / 1e6:0.0} | {r.Egress / baseline:0.00} | {r.RelayServed / (double)rounds / 1e6:0.0} | {r.FromRelays} / {r.FromCoordinator} | {r.Faults} | {r.MedianRound.TotalSeconds:0.0} |");
        Console.WriteLine();
        Console.WriteLine("criterion (issue 17): with 4 relays among 6 volunteers the coordinator's egress per round is at most half of that with 0.");
        var four = rows.FirstOrDefault(r => r.Relays == 4);
        return four is null || double.IsNaN(baseline) || four.Egress <= baseline / 2 ? 0 : 1;
    }

    private sealed record Row(int Relays, long Egress, long RelayServed, int FromRelays, int FromCoordinator, int Faults, TimeSpan MedianRound);

    private static async Task<Row> MeasureAsync(string dir, string preset, int volunteers, int relays, int rounds, int innerSteps)
    {
        var model = ModelConfig.Preset(preset);
        long memory = new ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert).MemoryNeeded(model.Experts);
        var options = new CoordinatorOptions
        {
            DataDirectory = Path.Combine(dir, "data"),
            Preset = preset,
            Quorum = volunteers,
            SpareLeases = 0,
            MinUpdates = volunteers,
            MaxRounds = rounds,
            InnerSteps = innerSteps,
            BatchSize = 4,
            SequenceLength = 32,
            EvalBatches = 1,
            ProbationSlots = volunteers, // fresh keys, all of them
            MinExpertHolders = 1,
            // Spot checks (on by default) pinned off: a recomputation would take a core from the downloads being timed.
            SpotCheckProbability = 0,
            SpotCheckProbationProbability = 0,
        };
        using var engine = CoordinatorEngine.Open(options, TimeProvider.System);
        var closes = new List<DateTimeOffset>();
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.RoundClosed += s =>
        {
            lock (closes) closes.Add(DateTimeOffset.UtcNow);
            if (s.NewVersion >= rounds) finished.TrySetResult();
        };
        // Every relay connects from 127.0.0.1: one dial-back per address per minute would let only one of them register.
        var reachability = ReachabilityOptions.Default with { PerCallerInterval = TimeSpan.Zero };
        await using var app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0), l => l.ClearProviders(), reachability: reachability);
        await app.StartAsync();
        string address = CoordinatorHost.Address(app);

        var owned = new List<IDisposable>();
        var servers = new List<RelayServer>();
        var views = new List<CountingView>();
        var clients = new List<VolunteerClient>();
        try
        {
            for (int i = 0; i < volunteers; i++)
            {
                var identity = VolunteerIdentity.Create();
                var channel = GrpcChannel.ForAddress(address);
                var fetcher = new RelayFetcher(new Uri(address));
                owned.AddRange([identity, channel, fetcher]);
                RelayNode? node = null;
                if (i < relays)
                {
                    var relayOptions = new RelayOptions(0, IPAddress.Loopback);
                    var server = await RelayServer.StartAsync(relayOptions, identity, TimeProvider.System);
                    servers.Add(server);
                    node = new RelayNode(server, relayOptions, new Protocol.V1.Reachability.ReachabilityClient(channel), new Protocol.V1.RelayRegistry.RelayRegistryClient(channel));
                }
                var view = new CountingView();
                views.Add(view);
                var volunteerOptions = new VolunteerOptions
                {
                    Coordinator = address, MemoryBytes = memory, Device = "cpu", CacheDirectory = Path.Combine(dir, $"cache-{i}"),
                };
                clients.Add(new VolunteerClient(new Protocol.V1.Coordinator.CoordinatorClient(channel), identity, volunteerOptions, view, relay: node, relayFetcher: fetcher,
                    relayRegistry: new Protocol.V1.RelayRegistry.RelayRegistryClient(channel)));
            }
            var started = DateTimeOffset.UtcNow;
            using var stop = new CancellationTokenSource();
            var runs = clients.Select(c => Task.Run(() => c.RunAsync(stop.Token))).ToList();
            await finished.Task.WaitAsync(TimeSpan.FromMinutes(30));
            long egress = engine.BytesSent;
            await stop.CancelAsync();
            await Task.WhenAll(runs);
            var errors = views.SelectMany(v => v.Errors).ToList();
            if (errors.Count > 0) Console.WriteLine($"  volunteer errors: {string.Join(" | ", errors.Distinct().Take(5))}");
            var faultLines = views.SelectMany(v => v.FaultLines).ToList();
            if (faultLines.Count > 0) Console.WriteLine($"  relay faults: {string.Join(" | ", faultLines.Distinct().Take(5))}");
            var durations = closes.Prepend(started).Zip(closes, (a, b) => b - a).Order().ToList();
            return new Row(relays, egress, servers.Sum(s => s.Service.BytesServed), views.Sum(v => v.FromRelays), views.Sum(v => v.FromCoordinator),
                views.Sum(v => v.Faults), durations[durations.Count / 2]);
        }
        finally
        {
            foreach (var s in servers) await s.DisposeAsync();
            owned.ForEach(d => d.Dispose());
            await app.StopAsync();
        }
    }

    /// <summary>Counts where each volunteer's downloads came from and every relay fault it reported.</summary>
    private sealed class CountingView : IVolunteerView
    {
        private int _fromRelays;
        private int _fromCoordinator;
        private int _faults;

        public int FromRelays => _fromRelays;

        public int FromCoordinator => _fromCoordinator;

        public int Faults => _faults;

        public List<string> Errors { get; } = [];

        public List<string> FaultLines { get; } = [];

        public void Transfer(string what, long bytes, TimeSpan elapsed)
        {
            if (what.StartsWith("download from relay", StringComparison.Ordinal)) Interlocked.Increment(ref _fromRelays);
            else if (what is "download" or "download (chunks from the coordinator)") Interlocked.Increment(ref _fromCoordinator);
        }

        public void Info(string message)
        {
            if (message.StartsWith("relay ", StringComparison.Ordinal)
                && (message.EndsWith("trying the next source", StringComparison.Ordinal) || message.EndsWith("fetched from another source", StringComparison.Ordinal)))
            {
                Interlocked.Increment(ref _faults);
                lock (FaultLines) FaultLines.Add(message);
            }
            if (message.StartsWith("relay not listed", StringComparison.Ordinal)) lock (Errors) Errors.Add(message);
        }

        public void Error(string message)
        {
            lock (Errors) Errors.Add(message);
        }

        public void Joined(string volunteerId) { }

        public void UnitStarted(UnitSpec unit) { }

        public void Step(TrainingProgress progress) { }

        public void Submitted(string updateId, double meanLoss) { }

        public void Rejected(RejectReason reason, string detail)
        {
            lock (Errors) Errors.Add($"rejected {reason.Token()}: {detail}");
        }

        public void Waiting(string reason) { }
    }
}
