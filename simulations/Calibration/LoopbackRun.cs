using System.Diagnostics;
using Grpc.Net.Client;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Identity;
using Hivemind.Simulations.Network;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using Microsoft.Extensions.Logging;

namespace Hivemind.Simulations.Calibration;

/// <summary>What a real loopback run measured: wall seconds at each RoundClosed, the engine's own close timings, and the bytes the throttled links carried.</summary>
/// <param name="CloseTimes">Seconds since start at which each round closed.</param>
/// <param name="Rounds">The engine's round summaries.</param>
/// <param name="BytesDown">Bytes the volunteers' throttled links carried down (HTTP/2 framing included); 0 without a link.</param>
/// <param name="BytesUp">Bytes they carried up; 0 without a link.</param>
/// <param name="Units">Every client's units' phase times, each client's in order, clients one after another.</param>
public sealed record LoopbackMeasurement(IReadOnlyList<double> CloseTimes, IReadOnlyList<RoundSummary> Rounds, long BytesDown = 0, long BytesUp = 0,
    IReadOnlyList<UnitTiming>? Units = null);

/// <summary>A real coordinator (Kestrel, HTTP/2 on 127.0.0.1) with in-process volunteer clients over real gRPC, timed per round.</summary>
public static class LoopbackRun
{
    // Each client's first unit pays the join, JIT and TorchSharp start-up; its phase times are left out.
    private const int WarmupUnits = 1;

    /// <summary>
    /// Runs <paramref name="options"/> to its MaxRounds with <paramref name="volunteers"/> clients, or fails after <paramref name="timeout"/>.
    /// With a <paramref name="link"/>, every client reaches the coordinator over its own throttled link of those rates.
    /// </summary>
    public static async Task<LoopbackMeasurement> RunAsync(Func<string, CoordinatorOptions> options, int volunteers, TimeSpan timeout, ThrottledLink? link = null)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        string scratch = Path.Combine(Path.GetTempPath(), "hm-loopback-" + Guid.NewGuid().ToString("N"));
        var closeTimes = new List<double>();
        var rounds = new List<RoundSummary>();
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Stopwatch.StartNew();
        var channels = new List<GrpcChannel>();
        var identities = new List<VolunteerIdentity>();
        var views = new List<SilentView>();
        var clocks = new List<(LinkClock Down, LinkClock Up)>();
        using var engine = CoordinatorEngine.Open(options(Path.Combine(scratch, "data")), TimeProvider.System);
        engine.RoundClosed += s =>
        {
            lock (closeTimes)
            {
                closeTimes.Add(watch.Elapsed.TotalSeconds);
                rounds.Add(s);
            }

            if (engine.Finished)
            {
                finished.TrySetResult();
            }
        };
        var app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0), l => l.SetMinimumLevel(LogLevel.Warning));
        using var cts = new CancellationTokenSource();
        var runs = new List<Task>();
        try
        {
            await app.StartAsync();
            string address = CoordinatorHost.Address(app);
            for (int i = 0; i < volunteers; i++)
            {
                var identity = VolunteerIdentity.Create();
                identities.Add(identity);
                GrpcChannel channel;
                if (link is null)
                {
                    channel = GrpcChannel.ForAddress(address);
                }
                else
                {
                    var (handler, down, up) = link.CreateHandler();
                    clocks.Add((down, up));
                    channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
                }

                channels.Add(channel);
                var view = new SilentView();
                views.Add(view);
                var client = new VolunteerClient(new Protocol.V1.Coordinator.CoordinatorClient(channel), identity,
                    new VolunteerOptions { Coordinator = address, Device = "cpu", CacheDirectory = Path.Combine(scratch, "cache-" + i) }, view);
                runs.Add(Task.Run(() => client.RunAsync(cts.Token)));
            }

            try
            {
                await finished.Task.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                string problems = string.Join("; ", views.SelectMany(v => v.Problems).Take(5));
                throw new TimeoutException($"the loopback run reached round {engine.Round} of {engine.Options.MaxRounds} within {timeout}; raise --timeout or lower --rounds (volunteer problems: {(problems.Length == 0 ? "none" : problems)})");
            }
        }
        finally
        {
            await cts.CancelAsync();
            try
            {
                await Task.WhenAll(runs).WaitAsync(timeout);
            }
            catch (OperationCanceledException)
            {
                // The clients stop by cancellation; that is the expected end.
            }

            await app.StopAsync();
            await app.DisposeAsync();
            foreach (var c in channels)
            {
                c.Dispose();
            }

            foreach (var i in identities)
            {
                i.Dispose();
            }
        }

        TryDelete(scratch);
        lock (closeTimes)
        {
            return new LoopbackMeasurement([.. closeTimes], [.. rounds], clocks.Sum(c => c.Down.BytesCarried), clocks.Sum(c => c.Up.BytesCarried),
                [.. views.SelectMany(v => v.Units.Skip(WarmupUnits))]);
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; the OS cleans its temp directory.
        }
    }
}
