using Hivemind.Protocol.Tensors;
using Hivemind.Volunteer.Work;

namespace Hivemind.Simulations.Faithful;

/// <summary>A leased work unit between lease and arrival: its spec, its update (trained at lease time) and its virtual timings.</summary>
public sealed class UnitInFlight(VirtualVolunteer volunteer, UnitSpec spec, ParameterSet shard, double leasedAt)
{
    /// <summary>Who trains it.</summary>
    public VirtualVolunteer Volunteer { get; } = volunteer;

    /// <summary>The real work unit.</summary>
    public UnitSpec Spec { get; } = spec;

    /// <summary>The downloaded shard parameters (names and shapes for a crafted update).</summary>
    public ParameterSet Shard { get; } = shard;

    /// <summary>Virtual second of the lease.</summary>
    public double LeasedAt { get; } = leasedAt;

    /// <summary>The signed update; null for a Byzantine unit until it is crafted.</summary>
    public TrainedUpdate? Update { get; set; }

    /// <summary>Virtual compute seconds.</summary>
    public double ComputeSeconds { get; set; }

    /// <summary>Virtual download + upload seconds.</summary>
    public double TransferSeconds { get; set; }

    /// <summary>Virtual second the upload completes.</summary>
    public double ArrivesAt => LeasedAt + ComputeSeconds + TransferSeconds;
}
