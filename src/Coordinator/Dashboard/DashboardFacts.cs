using Hivemind.Coordinator.Rounds;

namespace Hivemind.Coordinator.Dashboard;

/// <summary>The run's fixed facts the read model needs besides the store: where it is, the model, the optimum, the unit size.</summary>
public sealed record DashboardFacts(string DatabasePath, string Preset, double? OptimalLoss, long TokensPerUnit, long? MaxRounds, int MaxStaleness)
{
    /// <summary>A volunteer that leased or returned work within this window counts as active (the engine's own window).</summary>
    public TimeSpan ActiveWindow { get; init; } = CoordinatorEngine.ActiveWindow;

    /// <summary>Tokens per second are averaged over this trailing window of accepted updates.</summary>
    public TimeSpan ThroughputWindow { get; init; } = TimeSpan.FromMinutes(1);

    public static DashboardFacts From(CoordinatorEngine engine)
    {
        var o = engine.Options;
        return new DashboardFacts(
            Path.Combine(o.DataDirectory, "coordinator.db"),
            o.Preset,
            double.IsFinite(engine.OptimalLoss) ? engine.OptimalLoss : null,
            // The coordinator's own count of a unit's tokens (H × batch × sequence length); the envelope's figure is the
            // volunteer's claim and is not believed for credit.
            (long)o.InnerSteps * o.BatchSize * o.SequenceLength,
            o.MaxRounds > 0 ? o.MaxRounds : null,
            o.MaxStaleness);
    }
}
