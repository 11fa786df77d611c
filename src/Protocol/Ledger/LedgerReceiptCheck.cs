using System.Security.Cryptography;
using Hivemind.Protocol.V1;

namespace Hivemind.Protocol.Ledger;

/// <summary>
/// What a volunteer checks on each acknowledgement: the ledger entry is an accept entry for its own envelope, the tree head is signed
/// by the coordinator key it trusts, and the inclusion proof puts that entry in that head's tree.
/// </summary>
public static class LedgerReceiptCheck
{
    /// <summary>Null when the receipt in <paramref name="reply"/> proves <paramref name="envelopeBytes"/> is logged; otherwise what is wrong.</summary>
    public static string? Verify(SubmitReply reply, ReadOnlySpan<byte> envelopeBytes, ReadOnlySpan<byte> trustedKey)
    {
        if (reply.LedgerTreeHead is null || reply.LedgerEntry.IsEmpty)
            return "the acknowledgement carries no ledger receipt (SubmitReply fields 30-33), so nothing proves the update was logged";
        var head = reply.LedgerTreeHead.FromWire();
        if (!head.VerifySignature(trustedKey))
            return $"the tree head ({head}) is not signed by the coordinator key {Convert.ToHexString(trustedKey).ToLowerInvariant()}";
        LedgerEntry entry;
        try
        {
            entry = LedgerEntry.Decode(reply.LedgerEntry.Span);
        }
        catch (InvalidDataException e)
        {
            return $"the ledger entry is malformed ({e.Message})";
        }
        if (entry.Kind != LedgerEntryKind.Accept)
            return $"the ledger entry is a {entry.Kind} entry, not the acceptance of this update";
        if (entry.Bytes(LedgerFields.EnvelopeSha256) is not { } logged || !logged.AsSpan().SequenceEqual(SHA256.HashData(envelopeBytes)))
            return "the ledger entry names another envelope than the one this volunteer signed";
        if (reply.LedgerLeafIndex > long.MaxValue ||
            !MerkleProofs.VerifyInclusion(MerkleHash.Leaf(reply.LedgerEntry.Span), (long)reply.LedgerLeafIndex, head.TreeSize,
                reply.LedgerInclusionProof.Select(p => p.ToByteArray()).ToList(), head.RootHash))
            return $"the inclusion proof of leaf {reply.LedgerLeafIndex} does not verify against the signed head ({head})";
        return null;
    }
}
