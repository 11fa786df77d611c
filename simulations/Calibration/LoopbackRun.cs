using System.Diagnostics;
using Grpc.Net.Client;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Identity;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using Microsoft.Extensions.Logging;

namespace Hivemind.Simulations.Calibration;

/// <summary>What a real loopback run measured: wall seconds at each RoundClosed and the engine's own close timings.</summary>
/// <param name="CloseTimes">Seconds since start at which each round closed.</param>
/// <param name="Rounds">The engine's round summaries.</param>
public sealed record LoopbackMeasurement(IReadOnlyList<double> CloseTimes, IReadOnlyList<RoundSummary> Rounds);

/// <summary>A real coordinator (Kestrel, HTTP/2 on 127.0.0.1) with in-process volunteer clients over real gRPC, timed per round.</summary>
public static class LoopbackRun
{
    /// <summary>Runs <paramref name="options"/> to its MaxRounds with <paramref name="volunteers"/> clients, or fails after <paramref name="timeout"/>.</summary>
    public static async Task<LoopbackMeasurement> RunAsync(Func<string, CoordinatorOptions> options, int volunteers, TimeSpan timeout)
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
                var channel = GrpcChannel.ForAddress(address);
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
            return new LoopbackMeasurement([.. closeTimes], [.. rounds]);
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
