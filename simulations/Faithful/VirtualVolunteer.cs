using Hivemind.Protocol.Identity;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Faithful;

/// <summary>One online volunteer of a slot: its real key and session, and its virtual device and links.</summary>
public sealed class VirtualVolunteer(
    int slot, int generation, VolunteerIdentity identity, string session, DeviceSpec device,
    double downMbps, double upMbps, double latencySeconds, double slowdown, bool byzantine) : IDisposable
{
    /// <summary>The slot it occupies.</summary>
    public int Slot { get; } = slot;

    /// <summary>Which occupant of the slot it is; events of earlier occupants are ignored.</summary>
    public int Generation { get; } = generation;

    /// <summary>Its Ed25519 key.</summary>
    public VolunteerIdentity Identity { get; } = identity;

    /// <summary>Its session with the engine.</summary>
    public string Session { get; } = session;

    /// <summary>Its device row.</summary>
    public DeviceSpec Device { get; } = device;

    /// <summary>Download link, Mb/s.</summary>
    public double DownMbps { get; } = downMbps;

    /// <summary>Upload link, Mb/s.</summary>
    public double UpMbps { get; } = upMbps;

    /// <summary>Latency per transfer, seconds.</summary>
    public double LatencySeconds { get; } = latencySeconds;

    /// <summary>Compute slowdown (1 unless a straggler).</summary>
    public double Slowdown { get; } = slowdown;

    /// <summary>Whether it sends crafted updates.</summary>
    public bool Byzantine { get; } = byzantine;

    /// <summary>Its own domain mix (heterogeneous data); null: the engine's mix.</summary>
    public double[]? DomainMix { get; init; }

    /// <summary>Its last accepted unit and the payload it sent: the base of an eager unit (issue 16).</summary>
    public (string UnitId, byte[] Payload)? LastAccepted { get; set; }

    /// <summary>The model version of the shard it downloaded last (kept in its cache by hash).</summary>
    public long HeldVersion { get; set; } = -1;

    /// <summary>Whether it holds a unit in flight.</summary>
    public bool Busy { get; set; }

    /// <summary>
    /// When the engine last told it to ask again (virtual seconds), while that ask is still ahead; null when it is not waiting for a draw.
    /// The latest instruction wins: a retry event for any other time is stale and ignored, so one volunteer never asks on two clocks.
    /// </summary>
    public double? AskAgainAt { get; set; }

    /// <summary>
    /// The work unit whose update the engine last rejected. Training is deterministic (same shard, version and data slice), so the same
    /// unit handed back by the engine (its lease is still live) would give the same bytes and the same verdict: the volunteer waits for
    /// another unit instead of retraining it (see FaithfulSimulation.Offer).
    /// </summary>
    public string? RejectedUnitId { get; set; }

    /// <summary>The rejected unit for which an ask at its lease's expiry is already scheduled.</summary>
    public string? LapseAskScheduled { get; set; }

    /// <summary>Whether the engine banned its key; a banned volunteer gets no more work.</summary>
    public bool Banned { get; set; }

    /// <inheritdoc />
    public void Dispose() => Identity.Dispose();
}
