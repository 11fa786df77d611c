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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _engine.WaitForActivityAsync(TickInterval, stoppingToken);
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
                await Task.Delay(TickInterval, stoppingToken);
            }
        }
    }
}
