using Hivemind.Coordinator.Rounds;

namespace Hivemind.Coordinator.Hosting;

/// <summary>Drives the engine's clock: closes rounds as soon as an update completes a quorum, and checks deadlines every second.</summary>
public sealed class RoundLoop : BackgroundService
{
    /// <summary>Deadline checks happen at least this often.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    private readonly CoordinatorEngine _engine;
    private readonly ILogger<RoundLoop> _log;
    private readonly IHostApplicationLifetime _lifetime;

    public RoundLoop(CoordinatorEngine engine, ILogger<RoundLoop> log, IHostApplicationLifetime lifetime)
    {
        _engine = engine;
        _log = log;
        _lifetime = lifetime;
    }

    /// <summary>
    /// Runs the loop on a thread of its own rather than a thread-pool worker: a round close computes for up to a few hundred milliseconds,
    /// and on a pool worker it would take one of the few workers that answer volunteers' calls (two on a 2-core machine), so leases
    /// queued behind it (issue 9's lease tail). Its parallel work is capped by <see cref="CoordinatorOptions.CloseParallelism"/>.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        Thread.CurrentThread.Name = "round-close";
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Blocking this thread is its purpose: the wait and the close stay off the pool.
                _engine.WaitForActivityAsync(TickInterval, stoppingToken).GetAwaiter().GetResult();
                _engine.Tick();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A failed close (disk full, corrupt checkpoint) must be visible; the round stays open and is retried.
                _log.LogError(e, "closing round {Round} failed; retrying", _engine.Round);
                stoppingToken.WaitHandle.WaitOne(TickInterval);
            }
        }
    }
}
