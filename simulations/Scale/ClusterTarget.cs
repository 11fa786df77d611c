using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scale;

/// <summary>A dedicated cluster's training throughput on the same model: accelerators × bf16 peak × utilization / FLOPs per token.</summary>
public sealed record ClusterTarget(string Name, DeviceSpec Device, int Count, double Utilization)
{
    private const double FlopsPerTeraflop = 1e12;

    /// <summary>Tokens per second the cluster trains <paramref name="model"/> at, synchronously (no communication cost charged).</summary>
    public double TokensPerSecond(ModelCost model) =>
        Count * Device.PeakBf16Tflops * FlopsPerTeraflop * Utilization / model.TrainingFlopsPerToken;
}
