namespace Hivemind.Simulations.Simulation;

/// <summary>The families a scenario can draw bandwidth, latency and session lengths from.</summary>
public enum DistributionKind
{
    /// <summary>Always the same value.</summary>
    Constant,

    /// <summary>Exponential with a mean (memoryless: session lengths as in DeDLOC's sahajBERT run).</summary>
    Exponential,

    /// <summary>Log-normal with a median and a sigma of the underlying normal (link speeds).</summary>
    LogNormal,

    /// <summary>Uniform between min and max.</summary>
    Uniform,
}
