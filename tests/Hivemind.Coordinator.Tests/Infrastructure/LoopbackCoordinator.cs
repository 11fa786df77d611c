using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Errors;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>A real coordinator (Kestrel, HTTP/2 on 127.0.0.1, any free port) around an engine, plus in-process volunteer clients.</summary>
public sealed class LoopbackCoordinator : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly List<IDisposable> _owned = [];
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<RoundSummary> _rounds = [];
    private WebApplication? _app;

    private LoopbackCoordinator(CoordinatorEngine engine, TempDirectory dir)
    {
        Engine = engine;
        _dir = dir;
        Engine.RoundClosed += s =>
        {
            lock (_rounds) _rounds.Add(s);
            // Judge by the summary, not Engine.Finished: the next round may already be closed (published) while this
            // round's handler runs after its evaluation.
            if (Engine.Options.MaxRounds > 0 && s.NewVersion >= Engine.Options.MaxRounds) _finished.TrySetResult();
        };
    }

    public CoordinatorEngine Engine { get; }

    public string Address { get; private set; } = "";

    public string Scratch => _dir.Path;

    public IReadOnlyList<RoundSummary> Rounds
    {
        get { lock (_rounds) return [.. _rounds]; }
    }

    /// <summary>The host's services (the dashboard's snapshot publisher and metrics, when it has them).</summary>
    public IServiceProvider Services => _app!.Services;

    /// <summary>The dashboard's address, or null when started without one.</summary>
    public string? DashboardAddress => _app!.DashboardAddress();

    public static async Task<LoopbackCoordinator> StartAsync(Func<string, CoordinatorOptions> options, TimeProvider? time = null, DashboardSettings? dashboard = null,
        Hivemind.Coordinator.Reachability.ReachabilityOptions? reachability = null)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        var dir = new TempDirectory();
        var engine = CoordinatorEngine.Open(options(Path.Combine(dir.Path, "data")), time ?? TimeProvider.System);
        var c = new LoopbackCoordinator(engine, dir);
        c._app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0), l => l.SetMinimumLevel(LogLevel.Warning), dashboard, reachability);
        await c._app.StartAsync();
        c.Address = CoordinatorHost.Address(c._app);
        return c;
    }

    /// <summary>A volunteer client with a fresh key, reporting to a view that records what happened.</summary>
    public (VolunteerClient Client, RecordingView View) Volunteer(Behavior behavior = Behavior.Honest, int maxUnits = 0, string name = "v",
        Grpc.Core.Interceptors.Interceptor? interceptor = null, bool eager = false) =>
        TestVolunteer.Create(Address, Path.Combine(_dir.Path, $"cache-{name}-{_owned.Count}"), _owned, behavior, maxUnits, interceptor: interceptor, eager: eager);

    /// <summary>
    /// Runs the clients until the engine reaches MaxRounds. Fails with what was awaited at the timeout, and at once (with the exception)
    /// when a volunteer's loop faults: a volunteer that dies silently would otherwise leave the run waiting for the timeout.
    /// </summary>
    public async Task TrainToTheEndAsync(IEnumerable<VolunteerClient> clients, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource();
        var runs = clients.Select(c => Task.Run(() => c.RunAsync(cts.Token))).ToList();
        try
        {
            var faulted = WhenAnyFaults(runs);
            var first = await Task.WhenAny(_finished.Task, faulted).WaitAsync(timeout);
            if (first == faulted)
            {
                var dead = await faulted;
                throw new InvalidOperationException(
                    $"volunteer {runs.IndexOf(dead)}'s loop ended with an exception at round {Engine.Round} (of {Engine.Options.MaxRounds}): {dead.Exception!.InnerException}",
                    dead.Exception!.InnerException);
            }
        }
        catch (TimeoutException)
        {
            var s = Engine.Status();
            string rejections = s.Rejections.Count == 0 ? "none" : string.Join(", ", s.Rejections.Select(r => $"{r.Key} {r.Value}"));
            throw new TimeoutException($"training did not reach {Engine.Options.MaxRounds} rounds within {timeout}; it is at round {s.Round} with " +
                $"{s.AcceptedThisRound} updates accepted this round, {s.LeasedUnits} units leased, {s.BytesReceived} payload bytes stored, rejections: {rejections}.");
        }
        finally
        {
            await cts.CancelAsync();
            // Faults are reported above (or below, once the run has finished); here only every loop's end is awaited.
            await Task.WhenAll(runs.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(TimeSpan.FromSeconds(60));
        }
        if (runs.FirstOrDefault(r => r.IsFaulted) is { } late)
            throw new InvalidOperationException($"volunteer {runs.IndexOf(late)}'s loop ended with an exception: {late.Exception!.InnerException}", late.Exception!.InnerException);
    }

    /// <summary>Completes with the first of <paramref name="runs"/> that faults; never, if none does.</summary>
    private static Task<Task<int>> WhenAnyFaults(List<Task<int>> runs)
    {
        var first = new TaskCompletionSource<Task<int>>(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var run in runs)
            _ = run.ContinueWith(r => first.TrySetResult(r), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return first.Task;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        foreach (var d in _owned) d.Dispose();
        Engine.Dispose();
        _dir.Dispose();
    }

    /// <summary>Records a volunteer's events for assertions.</summary>
    public sealed class RecordingView : IVolunteerView
    {
        public List<string> Accepted { get; } = [];

        public List<RejectReason> Rejections { get; } = [];

        public List<string> Errors { get; } = [];

        public void Joined(string volunteerId) { }

        /// <summary>The id of every unit the volunteer started training, in order.</summary>
        public List<string> Units { get; } = [];

        public void UnitStarted(UnitSpec unit)
        {
            lock (Units)
            {
                Units.Add(unit.Id);
                if (unit.BaseUnitId is not null) EagerUnits++;
            }
        }

        /// <summary>Units started from this volunteer's own last accepted update (eager, issue 16).</summary>
        public int EagerUnits { get; private set; }

        public void Step(TrainingProgress progress) { }

        private readonly TaskCompletionSource _downloaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Every download and upload, in order: what ("download", "download (3 steps)", "download from relay 127.0.0.1:…", "upload") and its bytes.</summary>
        public List<(string What, long Bytes)> Transfers { get; } = [];

        /// <summary>Completes when the volunteer has its first unit's parameters (from anywhere).</summary>
        public Task Downloaded => _downloaded.Task;

        public void Transfer(string what, long bytes, TimeSpan elapsed)
        {
            lock (Transfers) Transfers.Add((what, bytes));
            if (what.StartsWith("download", StringComparison.Ordinal)) _downloaded.TrySetResult();
        }

        public void Submitted(string updateId, double meanLoss)
        {
            lock (Accepted) Accepted.Add(updateId);
        }

        public void Rejected(RejectReason reason, string detail)
        {
            lock (Rejections) Rejections.Add(reason);
        }

        public List<string> Waits { get; } = [];

        public void Waiting(string reason)
        {
            lock (Waits) Waits.Add(reason);
        }

        public void Info(string message)
        {
            lock (Waits) Waits.Add(message);
        }

        public void Error(string message)
        {
            lock (Errors) Errors.Add(message);
        }
    }
}
