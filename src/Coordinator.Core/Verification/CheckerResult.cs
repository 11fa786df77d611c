using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// What a blind checker returned for its check unit: its accepted update (ledger row with the signed envelope), the payload as
/// received (verified) and the check lease's recipe (the checked unit's data and shard under the check unit's id).
/// </summary>
public sealed record CheckerResult(UpdateRecord Update, byte[] Payload, UnitRecipe Recipe)
{
    private ParameterSet? _claimed;

    /// <summary>The decoded update, decoded on first use (on the check worker, off the engine's lock).</summary>
    public ParameterSet Claimed => _claimed ??= TensorCodec.Decode(Payload, Payload.LongLength).Tensors;
}
