using Google.Protobuf;
using Grpc.Core;
using Hivemind.Coordinator.Ledger;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Ledger;
using Hivemind.Protocol.V1;

namespace Hivemind.Coordinator.Services;

/// <summary>The gRPC face of <see cref="DecisionLedger"/>: public, read-only, no session (ledger.proto).</summary>
public sealed class LedgerService : Protocol.V1.Ledger.LedgerBase
{
    /// <summary>Most entries one GetEntries call returns (keeps a reply far below the message size limit).</summary>
    public const int MaxEntriesPerCall = 1000;

    private readonly DecisionLedger _ledger;

    public LedgerService(CoordinatorEngine engine) => _ledger = engine.Ledger;

    public override Task<SignedTreeHead> GetTreeHead(TreeHeadRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        return Task.FromResult(_ledger.Head().ToWire());
    }

    public override Task<EntriesReply> GetEntries(EntriesRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        long size = _ledger.Size;
        if (request.Start > (ulong)size || request.End < request.Start)
            throw new ProtocolException(RejectReason.MalformedRequest, $"entries [{request.Start}, {request.End}) are not a range of the ledger's {size} entries; ask for 0 <= start <= end, start <= {size}");
        long start = (long)request.Start;
        long end = (long)Math.Min(request.End, request.Start + MaxEntriesPerCall);
        var reply = new EntriesReply { Start = request.Start };
        reply.Entries.AddRange(_ledger.Entries(start, end).Select(ByteString.CopyFrom));
        return Task.FromResult(reply);
    }

    public override Task<InclusionProofReply> GetInclusionProof(InclusionProofRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        long size = _ledger.Size;
        if (request.TreeSize > (ulong)size)
            throw new ProtocolException(RejectReason.MalformedRequest, $"tree_size {request.TreeSize} is beyond the ledger's {size} entries; ask for at most {size}, or 0 for the current tree");
        long leaf = request.LeafCase switch
        {
            InclusionProofRequest.LeafOneofCase.LeafIndex => (long)Math.Min(request.LeafIndex, long.MaxValue),
            InclusionProofRequest.LeafOneofCase.LeafHash => _ledger.LeafOf(request.LeafHash.ToByteArray())
                ?? throw new ProtocolException(RejectReason.MalformedRequest, $"no ledger entry has leaf hash {Convert.ToHexString(request.LeafHash.Span).ToLowerInvariant()}"),
            _ => throw new ProtocolException(RejectReason.MalformedRequest, "name the leaf: set leaf_index or leaf_hash"),
        };
        long treeSize = (long)request.TreeSize;
        if (leaf >= (treeSize == 0 ? size : treeSize))
            throw new ProtocolException(RejectReason.MalformedRequest, $"leaf {leaf} is not in a tree of {(treeSize == 0 ? size : treeSize)} entries");
        var (proof, provedSize, head, entry) = _ledger.InclusionProof(leaf, treeSize);
        var reply = new InclusionProofReply { LeafIndex = (ulong)leaf, TreeSize = (ulong)provedSize, Entry = ByteString.CopyFrom(entry) };
        reply.Proof.AddRange(proof.Select(ByteString.CopyFrom));
        if (head is not null) reply.TreeHead = head.ToWire();
        return Task.FromResult(reply);
    }

    public override Task<ConsistencyProofReply> GetConsistencyProof(ConsistencyProofRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        long size = _ledger.Size;
        if (request.OldSize > request.NewSize || request.NewSize > (ulong)size)
            throw new ProtocolException(RejectReason.MalformedRequest, $"sizes {request.OldSize} -> {request.NewSize} are not a pair of the ledger's tree sizes; ask for old_size <= new_size <= {size}");
        var reply = new ConsistencyProofReply { OldSize = request.OldSize, NewSize = request.NewSize };
        reply.Proof.AddRange(_ledger.ConsistencyProof((long)request.OldSize, (long)request.NewSize).Select(ByteString.CopyFrom));
        return Task.FromResult(reply);
    }
}
