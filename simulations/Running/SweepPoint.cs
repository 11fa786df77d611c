using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Running;

/// <summary>One point of a sweep: the axis values that differ from the scenario's base (null: base value).</summary>
public sealed record SweepPoint(int? Volunteers, double? BandwidthMbps, int? InnerSteps, TensorCodec? Codec, string? Device);
