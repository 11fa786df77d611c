using System.Diagnostics;
using System.Globalization;
using System.Net;
using Google.Protobuf;
using Grpc.Net.Client;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Reachability;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;
using Hivemind.Training;
using Hivemind.Volunteer.Relay;
using Microsoft.Extensions.Logging;

namespace Hivemind.Coordinator.Benchmarks;

/// <summary>
/// Issue 17, chunked downloads: the time of one volunteer's download and the coordinator's egress for it when the chunks come from 1 or
/// from 3 relays in parallel. Real coordinator and relays (Kestrel, gRPC on 127.0.0.1); each relay holds the shard and caps its upload
/// (a home uplink), so the download time shows whether parallel relays add up. The downloader is <see cref="RelayFetcher.FetchChunkedAsync"/>,
/// what a volunteer runs; the coordinator's own full download (uncapped, loopback) is measured beside it for reference.
/// </summary>
internal static class RelayParallelBenchmark
{
    private const int MaxRelays = 3;

    public static async Task<int> RunAsync(Args args, string root)
    {
        string preset = args.Get("--preset", "small");
        int downloads = args.Get("--downloads", 3);
        long upload = (long)args.Get("--relay-upload-kib", 4096) << 10;
        var counts = args.Get("--parallel", "1,3").Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToList();
        if (counts.Any(k => k is < 1 or > MaxRelays)) throw new ArgumentException($"--parallel {string.Join(",", counts)}: each count must be 1..{MaxRelays} (a work reply lists at most {MaxRelays} relays).");
        if (downloads < 1) throw new ArgumentException($"--downloads {downloads} must be at least 1.");
        if (upload < 1) throw new ArgumentException("--relay-upload-kib must be at least 1.");

        var model = ModelConfig.Preset(preset);
        long memory = new ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert).MemoryNeeded(model.Experts);
        int leases = MaxRelays + downloads * (counts.Count + 1);
        var options = new CoordinatorOptions
        {
            DataDirectory = Path.Combine(root, "parallel", "data"), Preset = preset, Quorum = leases, SpareLeases = 0, MinUpdates = leases, MaxRounds = 1,
            InnerSteps = 1, BatchSize = 4, SequenceLength = 32, EvalBatches = 1, ProbationSlots = leases, MinExpertHolders = 1,
        };
        using var engine = CoordinatorEngine.Open(options, TimeProvider.System);
        await using var app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0), l => l.ClearProviders(),
            reachability: ReachabilityOptions.Default with { PerCallerInterval = TimeSpan.Zero });
        await app.StartAsync();
        string address = CoordinatorHost.Address(app);
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = ProtocolLimits.Default.MaxChunkBytes + (64 << 10) });
        var coordinator = new Protocol.V1.Coordinator.CoordinatorClient(channel);
        var registry = new RelayRegistry.RelayRegistryClient(channel);
        var owned = new List<IDisposable>();
        var relays = new List<RelayServer>();
        try
        {
            long payloadBytes = 0;
            for (int i = 0; i < MaxRelays; i++)
            {
                var identity = VolunteerIdentity.Create();
                owned.Add(identity);
                var relayOptions = new RelayOptions(0, IPAddress.Loopback, UploadBytesPerSecond: upload);
                var server = await RelayServer.StartAsync(relayOptions, identity, TimeProvider.System);
                relays.Add(server);
                string session = await JoinAsync(coordinator, identity, memory);
                var check = await new Protocol.V1.Reachability.ReachabilityClient(channel).CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = ProtocolVersion.Current, Port = (uint)server.Port });
                if (!check.Reachable) throw new InvalidOperationException($"relay {i} not reachable: {check.Advice}");
                await registry.RegisterRelayAsync(new RegisterRelayRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session, Port = (uint)server.Port });
                var unit = (await LeaseAsync(coordinator, session)).WorkUnit;
                var (_, payload, _) = await FullDownloadAsync(coordinator, session, unit);
                server.Holdings.Hold(unit.ModelVersion, unit.ParametersSha256.Span, payload);
                payloadBytes = payload.Length;
            }

            var rows = new List<(string Source, List<double> Seconds, List<long> Egress)>();
            var direct = (Source: "coordinator only (DownloadParameters, uncapped)", Seconds: new List<double>(), Egress: new List<long>());
            for (int d = 0; d < downloads; d++)
            {
                var identity = VolunteerIdentity.Create();
                owned.Add(identity);
                string session = await JoinAsync(coordinator, identity, memory);
                var unit = (await LeaseAsync(coordinator, session)).WorkUnit;
                long before = engine.BytesSent;
                var (_, _, elapsed) = await FullDownloadAsync(coordinator, session, unit);
                direct.Seconds.Add(elapsed.TotalSeconds);
                direct.Egress.Add(engine.BytesSent - before);
            }
            rows.Add(direct);
            using var fetcher = new RelayFetcher(new Uri(address));
            foreach (var k in counts)
            {
                var row = (Source: $"{k} relay{(k > 1 ? "s" : "")} in parallel (capped {upload >> 10} KiB/s each)", Seconds: new List<double>(), Egress: new List<long>());
                for (int d = 0; d < downloads; d++)
                {
                    var identity = VolunteerIdentity.Create();
                    owned.Add(identity);
                    string session = await JoinAsync(coordinator, identity, memory);
                    var reply = await LeaseAsync(coordinator, session);
                    if (reply.Relays.Count < k) throw new InvalidOperationException($"the coordinator listed {reply.Relays.Count} relays, fewer than {k}");
                    // Each relay's upload bucket holds one second of upload; let it refill so every download starts from the same state.
                    await Task.Delay(TimeSpan.FromSeconds(1.5));
                    long before = engine.BytesSent;
                    var watch = Stopwatch.StartNew();
                    var outcome = await fetcher.FetchChunkedAsync(registry, session, reply.WorkUnit, [.. reply.Relays.Take(k)], engine.Ledger.PublicKey, CancellationToken.None);
                    row.Seconds.Add(watch.Elapsed.TotalSeconds);
                    row.Egress.Add(engine.BytesSent - before);
                    if (outcome.Faults.Count > 0) Console.WriteLine($"  faults: {string.Join(" | ", outcome.Faults)}");
                }
                rows.Add(row);
                Console.WriteLine($"  {row.Source}: median {Median(row.Seconds):0.00} s, coordinator egress {row.Egress.Average() / 1e6:0.00} MB per download");
            }

            Console.WriteLine();
            Console.WriteLine($"## relays --parallel: '{preset}' shard of {payloadBytes / 1e6:0.0} MB, {downloads} downloads per row, {Machine.Load()}");
            Console.WriteLine();
            Console.WriteLine("| source | median download s | downloads s | coordinator egress per download MB |");
            Console.WriteLine("|---|---:|---|---:|");
            foreach (var (source, seconds, egress) in rows)
                Console.WriteLine($"| {source} | {Median(seconds):0.00} | {string.Join(", ", seconds.Select(s => s.ToString("0.00", CultureInfo.InvariantCulture)))} | {egress.Average() / 1e6:0.00} |");
            var one = rows.FirstOrDefault(r => r.Source.StartsWith("1 relay ", StringComparison.Ordinal));
            var three = rows.FirstOrDefault(r => r.Source.StartsWith("3 relays", StringComparison.Ordinal));
            if (one.Seconds is not null && three.Seconds is not null)
                Console.WriteLine($"\n3 relays / 1 relay download time: {Median(three.Seconds) / Median(one.Seconds):0.00}");
            return 0;
        }
        finally
        {
            foreach (var r in relays) await r.DisposeAsync();
            owned.ForEach(d => d.Dispose());
            await app.StopAsync();
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>Asks until a unit is leased (the participant draw answers "wait" first), at most a minute.</summary>
    private static async Task<WorkReply> LeaseAsync(Protocol.V1.Coordinator.CoordinatorClient coordinator, string session)
    {
        var give = Stopwatch.StartNew();
        while (true)
        {
            var reply = await coordinator.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session });
            if (reply.ResultCase == WorkReply.ResultOneofCase.WorkUnit) return reply;
            if (give.Elapsed > TimeSpan.FromMinutes(1)) throw new InvalidOperationException($"no unit leased within a minute: {reply.NoWork.Reason}");
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(50, reply.NoWork.RetryAfterMs)));
        }
    }

    private static async Task<string> JoinAsync(Protocol.V1.Coordinator.CoordinatorClient coordinator, VolunteerIdentity identity, long memory)
    {
        var challenge = await coordinator.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey) });
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, (ulong)memory, "cpu", "");
        var join = await coordinator.JoinAsync(new JoinRequest
        {
            ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey), Nonce = challenge.Nonce, RunId = challenge.RunId,
            Signature = ByteString.CopyFrom(signature), DeclaredMemoryBytes = (ulong)memory, Device = "cpu",
        });
        return join.SessionToken;
    }

    private static async Task<(ParameterMetadata Metadata, byte[] Payload, TimeSpan Elapsed)> FullDownloadAsync(Protocol.V1.Coordinator.CoordinatorClient coordinator, string session,
        Protocol.V1.WorkUnit unit)
    {
        var watch = Stopwatch.StartNew();
        using var call = coordinator.DownloadParameters(new DownloadRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId,
        });
        var (metadata, payload) = await DownloadStream.ReadAsync(call.ResponseStream, ProtocolLimits.Default, CancellationToken.None);
        return (metadata, payload, watch.Elapsed);
    }
}
