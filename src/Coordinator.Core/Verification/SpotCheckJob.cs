using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// One drawn check, captured when the update was accepted: the ledger row (signed envelope and signature), the payload as
/// received, the decoded claim, the unit's recipe and the shard's start parameters (null when the unit trained from an older
/// version: they are then read from that version's checkpoint).
/// </summary>
public sealed record SpotCheckJob(UpdateRecord Update, byte[] Payload, ParameterSet Claimed, UnitRecipe Recipe, ParameterSet? Start);
