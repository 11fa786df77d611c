using Hivemind.Coordinator.Dashboard;
using System.Diagnostics;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Training;
using Hivemind.Volunteer.Work;
using static Hivemind.Coordinator.Benchmarks.Format;
using CoordinatorClient = Hivemind.Protocol.V1.Coordinator.CoordinatorClient;
using CoreWorkUnit = Hivemind.Coordinator.Rounds.WorkUnit;

namespace Hivemind.Coordinator.Benchmarks;

/// <summary>
/// Issue 5, benchmark 1: a real accepted update of a 'base' shard through Kestrel + gRPC SubmitUpdate (stream, hash, write,
/// fsync, envelope signature, lease, decode, names/shapes/finite/norm, move + directory fsync + SQLite commit), against peers
/// on the same bytes in the same run: (a) loopback gRPC to a draining sink, (b) SHA-256, (c) an fsync'd file write.
/// </summary>
internal static class SubmitBenchmark
{
    public static async Task<int> RunAsync(Args args, string root)
    {
        TorchRuntime.EnsureLoaded();
        int reps = args.Get("--reps", 5);
        int expertsPerLayer = args.Get("--experts-per-layer", 4);
        string codec = args.Get("--codec", "fp16");
        int pairs = args.Get("--poll-pairs", 0);
        int perArm = args.Get("--per-arm", 2);
        var options = new CoordinatorOptions
        {
            DataDirectory = Path.Combine(root, "coordinator"),
            Preset = "base",
            Codec = codec,
            // The round never closes during the benchmark: every submission is a plain accepted update. In --poll-pairs mode each
            // pair is one round, closed between pairs (untimed), so the decoded updates of a long run do not pile up in memory.
            Quorum = pairs > 0 ? 2 * perArm : 1000,
            MinUpdates = 1,
            SpareLeases = 0,
            RoundTimeout = TimeSpan.FromHours(1),
            LeaseDuration = TimeSpan.FromHours(1),
            MaxLeaseDuration = TimeSpan.FromHours(1),
            EvalBatches = 0,
            ParticipantDrawWindow = TimeSpan.Zero, // one benchmark volunteer leases unit after unit in-process
            // Spot checks (on by default) pinned off: the benchmark's updates are random (every check would fail and ban
            // its volunteer) and a 'base' recomputation would take a core from the submissions being timed. `round` measures their cost.
            SpotCheckProbability = 0,
            SpotCheckProbationProbability = 0,
        };
        var model = ModelConfig.Preset(options.Preset);
        long memory = new ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert).MemoryNeeded(expertsPerLayer);

        Console.WriteLine($"opening a '{options.Preset}' coordinator ({model.TotalParameters / 1e6:0.0} M parameters; codec {codec}) ...");
        using var engine = CoordinatorEngine.Open(options, TimeProvider.System);
        bool poll = args.Has("--poll-dashboard") || pairs > 0;
        await using var app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0), l => l.ClearProviders(), poll ? new DashboardSettings(0) : null);
        await app.StartAsync();
        // Issue 14: an open dashboard page (and a Prometheus scrape) once a second while the submissions run.
        await using var poller = poll && pairs == 0 ? DashboardPoller.Start(app.DashboardAddress()!, TimeSpan.FromSeconds(1)) : null;
        await using var sink = SinkService.Build();
        await sink.StartAsync();
        await using var wideSink = SinkService.Build(http2WindowBytes: 8 << 20);
        await wideSink.StartAsync();
        // The volunteer's channel settings (VolunteerProgram).
        var channelOptions = new GrpcChannelOptions { MaxReceiveMessageSize = 8 << 20, MaxSendMessageSize = 8 << 20 };
        using var channel = GrpcChannel.ForAddress(CoordinatorHost.Address(app), channelOptions);
        using var sinkChannel = GrpcChannel.ForAddress(CoordinatorHost.Address(sink), channelOptions);
        var client = new CoordinatorClient(channel);
        var sinkClient = new CoordinatorClient(sinkChannel);
        using var wideChannel = GrpcChannel.ForAddress(CoordinatorHost.Address(wideSink), channelOptions);
        var wideClient = new CoordinatorClient(wideChannel);
        int chunk = args.Get("--chunk-bytes", ProtocolLimits.DefaultChunkBytes);

        using var identity = VolunteerIdentity.Create();
        string session = await JoinAsync(client, identity, memory);

        // Random deltas with each leased shard's names and shapes (the planner picks different experts per unit); value arrays are reused.
        var pool = new DeltaPool();
        var first = engine.RequestWork(session).Unit ?? throw new InvalidOperationException("no work unit was leased");
        var delta = pool.For(engine.ShardParameters(session, first.Version, first.Id));
        var update = Seal(first, delta, identity);
        long bytes = update.Payload.Length;
        Console.WriteLine($"update: {delta.Count} tensors, {delta.ElementCount:N0} values, trunk + {expertsPerLayer} experts x {model.Layers} layers; payload {bytes:N0} bytes ({bytes / 1e6:0.0} MB) {codec}");
        Console.WriteLine($"chunks of {chunk} bytes (default ProtocolLimits.DefaultChunkBytes = {ProtocolLimits.DefaultChunkBytes}); server MaxReceiveMessageSize {ProtocolLimits.Default.MaxChunkBytes + (64 << 10)}");

        if (pairs > 0)
        {
            await PollPairsAsync(pairs, perArm, engine, session, pool, identity, client, chunk, app.DashboardAddress()!, update);
            await app.StopAsync();
            return 0;
        }

        // Server-side steps of each accepted streamed upload (engine.SubmitTimed), kept for the timed repetitions only.
        var timings = new List<SubmitTimings>();
        bool keepTimings = false;
        engine.SubmitTimed += t =>
        {
            if (Volatile.Read(ref keepTimings)) lock (timings) timings.Add(t);
        };
        // --only-full: nothing but the full submit path, back to back, printing each repetition's window on the monotonic clock that
        // `perf record -k CLOCK_MONOTONIC` uses, so a profile can be cut to the submissions alone (perf report --time).
        bool onlyFull = args.Has("--only-full");
        // Other processes' dirty pages (a build's output, a test run's files) are written back while an upload streams and share the
        // disk with its staging writes; drained before each repetition (untimed, every arm alike), so the figure is the submit path's
        // own. --no-drain measures on whatever disk state the machine is in.
        bool drain = !args.Has("--no-drain");
        Console.WriteLine(drain ? "other processes' write-back is drained (sync) before each repetition, untimed; --no-drain to keep it" : "write-back of other processes is not drained (--no-drain)");
        var windows = new List<string>();
        var full = new Samples("full submit path (gRPC, real coordinator)");
        var fullStream = new Samples("  client: stream sent (receive+hash+write overlap)");
        var fullTail = new Samples("  client: last chunk sent -> reply (fsync + engine.Submit)");
        var sinkGrpc = new Samples("(a) loopback gRPC to a draining sink");
        // Client and server share this process: its CPU time during a call is the whole transfer's CPU work, which on a loaded
        // machine says more than the wall time (kernel writeback threads are not in it).
        var fullCpu = new Samples("  CPU time of the process during a full submit (client + server)");
        var sinkCpu = new Samples("  CPU time of the process during a sink upload (client + server)");
        var wideGrpc = new Samples("  (a') same sink, HTTP/2 windows 8 MiB stream / 16 MiB connection");
        var gcPause = new Samples("GC pause inside engine.Submit");
        var move = new Samples("probe: File.Move + DurableFiles.SyncDirectory (115 MB file)");
        var commit = new Samples("probe: one SQLite transaction (WAL, synchronous=FULL)");
        var sha = new Samples("(b) SHA-256 (1 MiB slices)");
        var writeSync = new Samples("(c) file write + fsync");
        var writeOnly = new Samples("  (c) write only");
        var fsyncOnly = new Samples("  (c) fsync only");
        string scratch = Path.Combine(options.DataDirectory, "scratch"); // the peers' files (the coordinator itself writes only verified payloads)
        Directory.CreateDirectory(scratch);
        int warmups = args.Get("--warmup", 4);
        for (int rep = -warmups; rep < reps; rep++) // negative repetitions warm up every path (JIT tiers, GC heap growth, sockets)
        {
            var unit = rep == -warmups ? first : engine.RequestWork(session).Unit ?? throw new InvalidOperationException("no work unit was leased");
            if (rep > -warmups) update = Seal(unit, pool.For(engine.ShardParameters(session, unit.Version, unit.Id)), identity);
            GC.Collect();
            if (drain) Sync();

            Volatile.Write(ref keepTimings, rep >= 0);
            double cpu0 = ProcessCpuSeconds();
            long started = Stopwatch.GetTimestamp();
            var (sent, total) = await SendAsync(client, session, update, chunk);
            if (rep >= 0) windows.Add($"{Monotonic(started)},{Monotonic(Stopwatch.GetTimestamp())}");
            double cpu1 = ProcessCpuSeconds();
            Volatile.Write(ref keepTimings, false);
            if (onlyFull)
            {
                if (rep < 0) continue;
                full.Add(total);
                fullCpu.Add(cpu1 - cpu0);
                fullStream.Add(sent);
                fullTail.Add(total - sent);
                continue;
            }
            var (_, sinkTotal) = await SendAsync(sinkClient, session, update, chunk);
            double cpu2 = ProcessCpuSeconds();
            var (_, wideTotal) = await SendAsync(wideClient, session, update, chunk);
            double shaTime = Time(() => HashSlices(update.Payload));
            var (w, f) = WriteAndSync(Path.Combine(scratch, "peer.bin"), update.Payload);
            if (rep < 0) continue;
            full.Add(total);
            fullCpu.Add(cpu1 - cpu0);
            sinkCpu.Add(cpu2 - cpu1);
            fullStream.Add(sent);
            fullTail.Add(total - sent);
            sinkGrpc.Add(sinkTotal);
            wideGrpc.Add(wideTotal);
            sha.Add(shaTime);
            writeOnly.Add(w);
            fsyncOnly.Add(f);
            writeSync.Add(w + f);
        }

        if (onlyFull)
        {
            Console.WriteLine($"## submit --only-full: {bytes / 1e6:0.0} MB update, {reps} repetitions (+{warmups} warm-up), {Machine.Load()}");
            foreach (var s in new[] { full, fullStream, fullTail, fullCpu })
                Console.WriteLine($"| {s.Name} | {Ms(s.Best)} | {Ms(s.Median)} | {MBps(bytes, s.Best)} | {MBps(bytes, s.Median)} |");
            PrintPhases(timings);
            Console.WriteLine($"monotonic windows of the timed submissions (perf report --time): {string.Join(' ', windows)}");
            await app.StopAsync();
            return 0;
        }

        // In-process breakdown of engine.Submit on the same kind of update: the wire check alone (what the submit path runs on every
        // payload), then the whole Submit.
        var verifier = new UpdateVerifier(new TensorGroups(engine.GlobalParameters()), options.MaxUpdateNorm);
        var decode = new Samples("wire check (UpdateVerifier.CheckWire: header, names, shapes, finite, norms; payload in memory)");
        var signature = new Samples("envelope signature (Ed25519)");
        var submit = new Samples("engine.Submit (signature, lease, decode+checks, move, dir fsync, SQLite)");
        for (int rep = 0; rep < Math.Max(2, reps / 2); rep++)
        {
            var unit = engine.RequestWork(session).Unit ?? throw new InvalidOperationException("no work unit was leased");
            update = Seal(unit, pool.For(engine.ShardParameters(session, unit.Version, unit.Id)), identity);
            string b = Path.Combine(scratch, $"submit{rep}.part");
            WriteAndSync(b, update.Payload);
            GC.Collect();
            var payloadBytes = update.Payload;
            decode.Add(Time(() => verifier.CheckWire(payloadBytes, payloadBytes.LongLength, n => n, unit.Shard, update.Envelope.Envelope.Codec)));
            signature.Add(Time(() => EnvelopeSigner.Verify(update.Envelope.Bytes, update.Envelope.Signature, identity.PublicKey)));
            string c = Path.Combine(scratch, "move.part"), movedDir = Path.Combine(root, "moved"), moved = Path.Combine(movedDir, $"m{rep}.bin");
            WriteAndSync(c, update.Payload);
            Directory.CreateDirectory(movedDir);
            move.Add(Time(() => { File.Move(c, moved, overwrite: true); DurableFiles.SyncDirectory(movedDir); }));
            File.Delete(moved);
            commit.Add(Time(() => engine.Store.CountRejection("benchmark-probe")));
            var sealedUpdate = update;
            GC.Collect();
            var pause = GC.GetTotalPauseDuration();
            submit.Add(Time(() => engine.Submit(new SubmittedUpdate(sealedUpdate.Envelope.Bytes, sealedUpdate.Envelope.Signature, b, bytes, SHA256.HashData(sealedUpdate.Payload)))));
            gcPause.Add(GC.GetTotalPauseDuration() - pause);
        }
        File.Delete(Path.Combine(scratch, "peer.bin"));

        Console.WriteLine();
        Console.WriteLine($"## submit: {bytes / 1e6:0.0} MB update, {reps} repetitions (+{warmups} warm-up), {Machine.Load()}");
        Console.WriteLine();
        Console.WriteLine("| measurement | best ms | median ms | MB/s (best) | MB/s (median) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var s in new[] { full, fullStream, fullTail, fullCpu, sinkGrpc, sinkCpu, wideGrpc, sha, writeSync, writeOnly, fsyncOnly, decode, signature, submit, gcPause, move, commit })
            Console.WriteLine($"| {s.Name} | {Ms(s.Best)} | {Ms(s.Median)} | {MBps(bytes, s.Best)} | {MBps(bytes, s.Median)} |");
        double rest = Math.Max(0, submit.Median - decode.Median - signature.Median);
        Console.WriteLine($"| rest of engine.Submit = read of the file + write + fsync + rename + directory fsync + ledger commit + lease checks (Submit - wire check - signature, medians) | | {Ms(rest)} | | |");
        PrintPhases(timings);
        Console.WriteLine();
        Console.WriteLine("| full submit path vs peer (median) | ratio | |");
        Console.WriteLine("|---|---:|---|");
        Console.WriteLine($"| (a) loopback gRPC sink | {Ratio(sinkGrpc.Median / full.Median)} | full path runs at this fraction of raw gRPC |");
        Console.WriteLine($"| (a) CPU time, sink ÷ full | {Ratio(sinkCpu.Median / fullCpu.Median)} | the same ratio in CPU work rather than wall time |");
        Console.WriteLine($"| (b) SHA-256 | {Ratio(sha.Median / full.Median)} | |");
        Console.WriteLine($"| (c) fsync'd write | {Ratio(writeSync.Median / full.Median)} | |");
        double mbps = bytes / 1e6 / full.Median;
        Console.WriteLine();
        Console.WriteLine($"full submit path: {mbps:0} MB/s median, {bytes / 1e6 / full.Best:0} MB/s best; target >= 300 MB/s: {(mbps >= 300 ? "MET" : "NOT MET")} (median)");
        Console.WriteLine($"full submit path, every repetition (ms): {string.Join(", ", full.All.Select(Ms))}; sink: {string.Join(", ", sinkGrpc.All.Select(Ms))}");
        Console.WriteLine($"accepted updates in the ledger: {engine.Store.LedgerCount()}");
        if (poller is not null)
        {
            // Stop polling before the coordinator stops, or the last poll meets a closed port.
            await poller.DisposeAsync();
            Console.WriteLine($"dashboard polled {poller.Polls} times (once a second: status, series, rounds, volunteers, rejections, /metrics) during the run; {poller.Failures} failed");
        }
        await app.StopAsync();
        await sink.StopAsync();
        await wideSink.StopAsync();
        return 0;
    }

    /// <summary>
    /// Issue 14: the submit path with and without an open dashboard, interleaved in one process. Each pair runs <paramref name="perArm"/>
    /// submissions with the dashboard polled once a second (every endpoint an open page reads, plus /metrics) and as many without
    /// (the dashboard on, nobody reading it), in alternating order; the pair's ratio is polled ÷ unpolled time. Prints each pair and
    /// the mean ratio with a 95% interval (t distribution over the pairs' log ratios).
    /// </summary>
    private static async Task PollPairsAsync(int pairs, int perArm, CoordinatorEngine engine, string session, DeltaPool pool, VolunteerIdentity identity,
        CoordinatorClient client, int chunk, string dashboard, TrainedUpdate first)
    {
        var logRatios = new List<double>();
        int polls = 0, failures = 0;
        // Warm-up round (untimed): the unit already leased, then the rest of round 0, so every path is jitted and the round closes.
        long warmRound = engine.Round;
        await SendAsync(client, session, first, chunk);
        for (int i = 1; i < 2 * perArm; i++)
        {
            var unit = engine.RequestWork(session).Unit ?? throw new InvalidOperationException("no work unit was leased");
            await SendAsync(client, session, Seal(unit, pool.For(engine.ShardParameters(session, unit.Version, unit.Id)), identity), chunk);
        }
        await WaitForCloseAsync(engine, warmRound);
        Console.WriteLine($"## submit with and without dashboard polling: {pairs} pairs x {perArm} submissions per arm, {Machine.Load()}");
        for (int p = 0; p < pairs; p++)
        {
            double polledTime = 0, plainTime = 0;
            long round = engine.Round;
            foreach (bool polled in p % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var poller = polled ? DashboardPoller.Start(dashboard, TimeSpan.FromSeconds(1)) : null;
                try
                {
                    for (int i = 0; i < perArm; i++)
                    {
                        var unit = engine.RequestWork(session).Unit ?? throw new InvalidOperationException("no work unit was leased");
                        var update = Seal(unit, pool.For(engine.ShardParameters(session, unit.Version, unit.Id)), identity);
                        GC.Collect();
                        var (_, total) = await SendAsync(client, session, update, chunk);
                        if (polled) polledTime += total;
                        else plainTime += total;
                    }
                }
                finally
                {
                    if (poller is not null)
                    {
                        await poller.DisposeAsync();
                        polls += poller.Polls;
                        failures += poller.Failures;
                    }
                }
            }
            logRatios.Add(Math.Log(polledTime / plainTime));
            Console.WriteLine($"pair {p + 1}: polled {Ms(polledTime)} ms, unpolled {Ms(plainTime)} ms, ratio {Ratio(polledTime / plainTime)}");
            // The pair filled the round: let it close (untimed) before the next pair, so memory stays at one round's updates.
            await WaitForCloseAsync(engine, round);
        }
        double mean = logRatios.Average();
        double sd = Math.Sqrt(logRatios.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, logRatios.Count - 1));
        double half = StudentT95(logRatios.Count - 1) * sd / Math.Sqrt(logRatios.Count);
        Console.WriteLine();
        Console.WriteLine($"polled / unpolled submit time: {Ratio(Math.Exp(mean))} (95% interval {Ratio(Math.Exp(mean - half))} to {Ratio(Math.Exp(mean + half))}) over {logRatios.Count} pairs; " +
                          $"{polls} polls, {failures} failed; {Machine.Load()}");
    }

    private static async Task WaitForCloseAsync(CoordinatorEngine engine, long round)
    {
        var waited = Stopwatch.StartNew();
        while (engine.Round == round && waited.Elapsed < RoundCloseWait) await Task.Delay(RoundClosePoll);
        if (engine.Round == round) throw new TimeoutException($"round {round} did not close within {RoundCloseWait}");
    }

    /// <summary>How long to wait for a pair's round to close, and how often to look.</summary>
    private static readonly TimeSpan RoundCloseWait = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan RoundClosePoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Two-sided 95% quantile of Student's t with <paramref name="df"/> degrees of freedom (1..30; the normal's beyond).</summary>
    private static double StudentT95(int df) => df switch
    {
        < 1 => double.NaN,
        <= 30 => new[] { 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
            2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042 }[df - 1],
        _ => 1.960,
    };

    private static async Task<string> JoinAsync(CoordinatorClient client, VolunteerIdentity identity, long memory)
    {
        var challenge = await client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey) });
        byte[] signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, (ulong)memory, "cpu", "");
        var reply = await client.JoinAsync(new JoinRequest
        {
            ProtocolVersion = ProtocolVersion.Current,
            PublicKey = ByteString.CopyFrom(identity.PublicKey),
            Nonce = challenge.Nonce,
            RunId = challenge.RunId,
            Signature = ByteString.CopyFrom(signature),
            DeclaredMemoryBytes = (ulong)memory,
            Device = "cpu",
            ClientName = "coordinator-benchmark",
        });
        return reply.SessionToken;
    }

    /// <summary>Exactly the volunteer's upload (VolunteerClient.SubmitAsync); returns (time until the last chunk is written, time until the reply).</summary>
    private static async Task<(double Sent, double Total)> SendAsync(CoordinatorClient client, string session, TrainedUpdate update, int chunk)
    {
        var watch = Stopwatch.StartNew();
        using var call = client.SubmitUpdate();
        await call.RequestStream.WriteAsync(new UpdateChunk
        {
            Header = new UpdateHeader
            {
                ProtocolVersion = ProtocolVersion.Current,
                SessionToken = session,
                Envelope = ByteString.CopyFrom(update.Envelope.Bytes),
                Signature = ByteString.CopyFrom(update.Envelope.Signature),
            },
        });
        for (int at = 0; at < update.Payload.Length; at += chunk)
        {
            int n = Math.Min(chunk, update.Payload.Length - at);
            await call.RequestStream.WriteAsync(new UpdateChunk { Data = UnsafeByteOperations.UnsafeWrap(update.Payload.AsMemory(at, n)) });
        }
        await call.RequestStream.CompleteAsync();
        double sent = watch.Elapsed.TotalSeconds;
        var reply = await call.ResponseAsync;
        double total = watch.Elapsed.TotalSeconds;
        if (!reply.Accepted) throw new InvalidOperationException("the update was not accepted");
        return (sent, total);
    }

    private static TrainedUpdate Seal(CoreWorkUnit unit, ParameterSet delta, VolunteerIdentity identity)
    {
        var spec = new UnitSpec(unit.Id, unit.Round, unit.Version, unit.Model, unit.Shard, unit.Data, unit.Training, unit.Codec) { RunId = unit.RunId, KeptPerBlock = unit.KeptPerBlock };
        long tokens = (long)unit.Training.InnerSteps * unit.Training.BatchSize * unit.Training.SeqLen; // the coordinator requires the unit's own count
        return WorkUnitRunner.Seal(spec, delta, identity, meanLoss: 3.0, tokens: tokens);
    }

    /// <summary>Small uniform values (|x| ≤ 1e-3): finite, within the norm bound; one array per shape and position, reused across units.</summary>
    private sealed class DeltaPool
    {
        private readonly Random _rng = new(5);
        private readonly Dictionary<string, List<float[]>> _arrays = new(StringComparer.Ordinal);

        public ParameterSet For(ParameterSet shard)
        {
            var delta = new ParameterSet();
            var used = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var t in shard)
            {
                string key = string.Join('x', t.Shape);
                int index = used.GetValueOrDefault(key);
                used[key] = index + 1;
                if (!_arrays.TryGetValue(key, out var list)) _arrays[key] = list = [];
                if (list.Count <= index)
                {
                    var values = new float[t.Values.Length];
                    for (int i = 0; i < values.Length; i++) values[i] = (float)((_rng.NextDouble() * 2 - 1) * 1e-3);
                    list.Add(values);
                }
                delta.Add(new NamedTensor(t.Name, t.Shape, list[index]));
            }
            return delta;
        }
    }

    private static void HashSlices(byte[] payload)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int at = 0; at < payload.Length; at += ProtocolLimits.DefaultChunkBytes)
            hash.AppendData(payload.AsSpan(at, Math.Min(ProtocolLimits.DefaultChunkBytes, payload.Length - at)));
        _ = hash.GetHashAndReset();
    }

    /// <summary>Peer (c): 1 MiB writes to a new file on the coordinator's disk, then fsync; returns (write, fsync) seconds.</summary>
    private static (double Write, double Fsync) WriteAndSync(string path, byte[] payload)
    {
        if (File.Exists(path)) File.Delete(path);
        var watch = Stopwatch.StartNew();
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        for (int at = 0; at < payload.Length; at += ProtocolLimits.DefaultChunkBytes)
            file.Write(payload, at, Math.Min(ProtocolLimits.DefaultChunkBytes, payload.Length - at));
        file.Flush(flushToDisk: false);
        double write = watch.Elapsed.TotalSeconds;
        file.Flush(flushToDisk: true);
        return (write, watch.Elapsed.TotalSeconds - write);
    }

    /// <summary>
    /// The server's steps of the timed full submissions (engine.SubmitTimed), medians: how long the stream took and, after its last
    /// byte, when each step that the reply waits for had ended. The sink pays none of the steps after the last byte.
    /// </summary>
    private static void PrintPhases(List<SubmitTimings> timings)
    {
        if (timings.Count == 0) return;
        Console.WriteLine();
        Console.WriteLine($"| server steps of the full submit path ({timings.Count} uploads) | median ms | each upload, ms |");
        Console.WriteLine("|---|---:|---|");
        void Row(string name, SubmitPhase from, SubmitPhase to)
        {
            var values = new Samples(name);
            foreach (var t in timings) values.Add(t.Between(from, to));
            Console.WriteLine($"| {name} | {Ms(values.Median)} | {string.Join(", ", values.All.Select(Ms))} |");
        }
        Row("envelope checked -> last payload byte in the buffer (the stream)", SubmitPhase.Opened, SubmitPhase.LastByte);
        Row("last byte -> length and SHA-256 checked", SubmitPhase.LastByte, SubmitPhase.StreamChecked);
        Row("last byte -> wire check done (worker)", SubmitPhase.LastByte, SubmitPhase.Checked);
        Row("last byte -> last staging write returned (worker)", SubmitPhase.LastByte, SubmitPhase.Written);
        Row("last byte -> staged file fsync'd (worker)", SubmitPhase.LastByte, SubmitPhase.Staged);
        Row("last byte -> renamed into updates/ + directory fsync'd", SubmitPhase.LastByte, SubmitPhase.Stored);
        Row("last byte -> ledger row committed (reply ready)", SubmitPhase.LastByte, SubmitPhase.Recorded);
        Row("  of which: staged -> stored (rename + directory fsync)", SubmitPhase.Staged, SubmitPhase.Stored);
        Row("  of which: stored -> recorded (ledger)", SubmitPhase.Stored, SubmitPhase.Recorded);
    }

    /// <summary>A <see cref="Stopwatch"/> timestamp in seconds of CLOCK_MONOTONIC (Linux), as perf prints its sample times.</summary>
    private static string Monotonic(long timestamp) => ((double)timestamp / Stopwatch.Frequency).ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture);

    private static double ProcessCpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>sync(2): schedules and waits for the write-back of every dirty page on the machine (Linux waits for it).</summary>
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "sync")]
    private static extern void Sync();
}
