using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// What a blind checker returned for its check unit: its accepted update (ledger row with the signed envelope), the payload as
/// received, the decoded update and the check lease's recipe (the checked unit's data and shard under the check unit's id).
/// </summary>
public sealed record CheckerResult(UpdateRecord Update, byte[] Payload, ParameterSet Claimed, UnitRecipe Recipe);
