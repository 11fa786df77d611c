using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// One drawn check, captured when the update was accepted: the ledger row (signed envelope and signature), the payload as
/// received (verified: its hash, names and shapes), the unit's recipe and the shard's start parameters (null when the unit trained
/// from an older version: they are then read from that version's checkpoint).
/// </summary>
public sealed record SpotCheckJob(UpdateRecord Update, byte[] Payload, UnitRecipe Recipe, ParameterSet? Start)
{
    private ParameterSet? _claimed;

    /// <summary>The decoded claim, decoded on first use (on the check worker, off the engine's lock; the submit path keeps no floats).</summary>
    public ParameterSet Claimed => _claimed ??= TensorCodec.Decode(Payload, Payload.LongLength).Tensors;

    /// <summary>Volunteer mode: the blind checker's result to compare with (the coordinator recomputes only on a disagreement).</summary>
    public CheckerResult? Checker { get; init; }

    /// <summary>Volunteer mode: why the coordinator recomputes instead (e.g. the check unit's lease expired); empty otherwise.</summary>
    public string Fallback { get; init; } = "";
}
