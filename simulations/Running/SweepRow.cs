using Hivemind.Simulations.Scale;

namespace Hivemind.Simulations.Running;

/// <summary>A sweep point with the configuration it resolved to and what its run measured.</summary>
public sealed record SweepRow(SweepPoint Point, ScaleConfig Config, ScaleResult Result);
