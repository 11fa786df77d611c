namespace Hivemind.Simulations.Scenarios;

/// <summary>One entry of the volunteers' device mix: a device name and its relative weight.</summary>
public sealed class DeviceShare
{
    /// <summary>A device table name (cpu, t4, rtx3090, a100, h100, or a scenario row).</summary>
    public required string Device { get; init; }

    /// <summary>Relative share of volunteers with this device.</summary>
    public double Weight { get; init; } = 1;
}
