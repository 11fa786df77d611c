using Hivemind.Protocol.Ledger;

namespace Hivemind.Coordinator.Ledger;

/// <summary>What an accepted update's acknowledgement carries: its leaf, the entry bytes, a signed head and the inclusion proof in it.</summary>
public sealed record LedgerReceipt(long LeafIndex, byte[] Entry, TreeHead Head, IReadOnlyList<byte[]> Proof);
