using System.Net;
using Grpc.Net.Client;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Services;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hivemind.Codec.Benchmarks;

/// <summary>
/// Measures the bytes a real run moves (issue 16), rather than computing them: a real coordinator (Kestrel, HTTP/2 on 127.0.0.1) behind a
/// byte-counting TCP relay, and real volunteer clients that join, download (first downloads included), train and upload over gRPC.
/// Reports, up and down separately, the coordinator's payload counters and the bytes on the wire per trained token, against per-step
/// data-parallel fp32 (2 × parameters × 4 bytes per step per worker).
/// </summary>
internal static class TrafficCommand
{
    /// <summary>What one run moved: payload bytes by the coordinator's counters, bytes on the wire by the relay, and what the volunteers reported.</summary>
    internal sealed record Result(long Parameters, long Tokens, long Units, long PayloadUp, long PayloadDown, long WireUp, long WireDown,
        IReadOnlyList<IReadOnlyList<(string What, long Bytes)>> Downloads, IReadOnlyList<string> Errors, double FinalLoss);

    private const long VolunteerMemory = 2L << 30;
    private const int TokensPerStep = 4 * 32;

    /// <summary>Bound on the whole run: a unit of H = 1,350 tiny steps takes minutes on a loaded machine, never hours.</summary>
    private static readonly TimeSpan RunBound = TimeSpan.FromHours(2);

    public static int Run(Args options)
    {
        long seed = options.Get("--seed", 1);
        int rounds = options.Get("--rounds", 4);
        int volunteers = options.Get("--volunteers", 2);
        int inner = options.Get("--inner-steps", 1350);
        int newcomerAt = options.Get("--newcomer-at", 0);
        bool fromSeed = bool.Parse(options.Get("--seed-downloads", "true"));
        var setting = QualitySetting.Parse(options.Get("--settings", "int8/int8"));
        if (newcomerAt < 0 || newcomerAt >= rounds)
            throw new ArgumentException($"--newcomer-at {newcomerAt} must be 0 (no newcomer) or a round before --rounds {rounds}.");
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        Console.WriteLine($"traffic: {setting.Name}, tiny preset, {volunteers} volunteers, {rounds} rounds of H = {inner} (batch 4 × 32 tokens), seed {seed}, " +
            $"seed downloads {(fromSeed ? "on" : "off")}{(newcomerAt > 0 ? $", volunteer {volunteers} replaced by a newcomer after {newcomerAt} units" : "")}");
        var result = RunAsync(setting, seed, rounds, volunteers, inner, newcomerAt, fromSeed).GetAwaiter().GetResult();
        Report(result);
        foreach (var e in result.Errors) Console.WriteLine($"  volunteer error: {e}");
        return result.Errors.Count > 0 ? 1 : 0;
    }

    /// <summary>One run (see the type's summary); the caller loads TorchSharp.</summary>
    internal static async Task<Result> RunAsync(QualitySetting setting, long seed, int rounds, int volunteers, int inner, int newcomerAt, bool fromSeed)
    {
        string scratch = Path.Combine(Path.GetTempPath(), "hivemind-traffic-" + Environment.ProcessId);
        var options = QualityRun.Options(setting, seed, volunteers, rounds, inner, Path.Combine(scratch, "data"), null) with { SeedDownloads = fromSeed };
        var owned = new List<IDisposable>();
        try
        {
            using var engine = CoordinatorEngine.Open(options, TimeProvider.System);
            var finished = new TaskCompletionSource<RoundSummary>(TaskCreationOptions.RunContinuationsAsynchronously);
            engine.RoundClosed += s =>
            {
                Console.WriteLine($"  version {s.NewVersion}: {s.Updates} updates, held-out loss {s.EvalLoss:0.0000}");
                if (s.NewVersion >= rounds) finished.TrySetResult(s);
            };
            await using var app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0), l => l.SetMinimumLevel(LogLevel.Warning));
            await app.StartAsync();
            var port = new Uri(CoordinatorHost.Address(app)).Port;
            await using var proxy = new ByteCountingProxy(new IPEndPoint(IPAddress.Loopback, port));

            var members = new List<(VolunteerClient Client, CountingView View)>();
            (VolunteerClient, CountingView) Member(string name, int units)
            {
                var identity = VolunteerIdentity.Create();
                var channel = GrpcChannel.ForAddress(proxy.Address);
                owned.Add(identity);
                owned.Add(channel);
                var view = new CountingView();
                var volunteerOptions = new VolunteerOptions
                {
                    Coordinator = proxy.Address, MemoryBytes = VolunteerMemory, Device = "cpu", MaxUnits = units,
                    CacheDirectory = Path.Combine(scratch, "cache-" + name),
                };
                var client = new VolunteerClient(new Hivemind.Protocol.V1.Coordinator.CoordinatorClient(channel), identity, volunteerOptions, view,
                    ledger: new Hivemind.Protocol.V1.Ledger.LedgerClient(channel), data: new Hivemind.Protocol.V1.DataDistribution.DataDistributionClient(channel));
                members.Add((client, view));
                return (client, view);
            }

            var runs = new List<Task>();
            for (int i = 0; i < volunteers; i++)
            {
                bool leaves = newcomerAt > 0 && i == volunteers - 1;
                var (client, _) = Member($"v{i}", leaves ? newcomerAt : rounds);
                var run = Task.Run(() => client.RunAsync(CancellationToken.None));
                if (leaves)
                {
                    // The volunteer leaves after its units; a newcomer (new key, empty cache) takes its place for the remaining rounds.
                    run = run.ContinueWith(_ =>
                    {
                        var (newcomer, _) = Member("newcomer", rounds - newcomerAt);
                        return newcomer.RunAsync(CancellationToken.None);
                    }, TaskScheduler.Default).Unwrap();
                }
                runs.Add(run);
            }
            var last = await finished.Task.WaitAsync(RunBound);
            await Task.WhenAll(runs).WaitAsync(RunBound);

            var service = app.Services.GetRequiredService<CoordinatorService>();
            long parameters = ModelInit.Initialize(engine.Model, seed).ElementCount;
            long units = members.Sum(m => m.View.Accepted);
            return new Result(parameters, units * inner * TokensPerStep, units, service.BytesReceived, engine.BytesSent, proxy.BytesUp, proxy.BytesDown,
                [.. members.Select(m => m.View.Downloads)], [.. members.SelectMany(m => m.View.Errors)], last.EvalLoss ?? double.NaN);
        }
        finally
        {
            foreach (var d in owned) d.Dispose();
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
    }

    private static void Report(Result r)
    {
        double dp = 2.0 * r.Parameters * 4 / TokensPerStep;
        double dpOneWay = dp / 2;
        Console.WriteLine($"model: {r.Parameters} parameters; per-step data-parallel fp32 = 2 × {r.Parameters} × 4 B per step per worker = {dp:0} B per trained token ({dpOneWay:0} each way)");
        Console.WriteLine($"{r.Units} units accepted, {r.Tokens:N0} trained tokens; final held-out loss {r.FinalLoss:0.0000}");
        Console.WriteLine("volunteer downloads (as each client reported them): " + string.Join("; ", r.Downloads.Select((v, i) =>
            $"#{i} " + string.Join(", ", v.Select(d => $"{d.What} {d.Bytes} B")))));
        long first = r.Downloads.Sum(v => v.Count > 0 ? v[0].Bytes : 0);
        Console.WriteLine($"first downloads (each volunteer's first, payload): {first} B");
        Console.WriteLine("| counted at | up B | down B | up B/token | down B/token | total B/token | reduction vs DP, up / down / total |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (what, up, down) in new[] { ("coordinator payload counters", r.PayloadUp, r.PayloadDown), ("TCP bytes on the wire (all gRPC traffic)", r.WireUp, r.WireDown) })
        {
            double u = (double)up / r.Tokens, d = (double)down / r.Tokens;
            Console.WriteLine($"| {what} | {up:N0} | {down:N0} | {u:0.0000} | {d:0.0000} | {u + d:0.0000} | {dpOneWay / u:N0}× / {dpOneWay / d:N0}× / **{dp / (u + d):N0}×** |");
        }
    }

    /// <summary>Counts what a volunteer reports: its downloads (bytes as received) and accepted units.</summary>
    private sealed class CountingView : IVolunteerView
    {
        private readonly List<(string What, long Bytes)> _downloads = [];
        private readonly List<string> _errors = [];
        private int _accepted;

        public IReadOnlyList<(string What, long Bytes)> Downloads
        {
            get { lock (_downloads) return [.. _downloads]; }
        }

        public IReadOnlyList<string> Errors
        {
            get { lock (_errors) return [.. _errors]; }
        }

        public int Accepted => Volatile.Read(ref _accepted);

        public void Joined(string volunteerId) { }

        public void UnitStarted(UnitSpec unit) { }

        public void Step(TrainingProgress progress) { }

        public void Transfer(string what, long bytes, TimeSpan elapsed)
        {
            if (what.StartsWith("download", StringComparison.Ordinal)) lock (_downloads) _downloads.Add((what, bytes));
        }

        public void Submitted(string updateId, double meanLoss) => Interlocked.Increment(ref _accepted);

        public void Rejected(RejectReason reason, string detail)
        {
            lock (_errors) _errors.Add($"rejected: {reason} ({detail})");
        }

        public void Waiting(string reason) { }

        public void Info(string message) => Console.WriteLine($"  volunteer: {message}");

        public void Error(string message)
        {
            lock (_errors) _errors.Add(message);
        }
    }
}
