using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scale;

/// <summary>One volunteer slot of a scale run: who is in it now, and the work unit it holds.</summary>
internal sealed class VolunteerSlot
{
    public bool Online;
    public int Generation;
    public DeviceSpec Device = null!;
    public double DownMbps;
    public double UpMbps;
    public double LatencySeconds;
    public double Slowdown = 1;

    // The unit in flight: round it belongs to (-1 when idle), and its phases.
    public int UnitRound = -1;

    /// <summary>The round whose version this occupant last downloaded (-1: none yet); the base of step downloads.</summary>
    public int HeldRound = -1;
    public double DownloadSeconds;
    public double ComputeSeconds;
    public double UploadSeconds;
}
