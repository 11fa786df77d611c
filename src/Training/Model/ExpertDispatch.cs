using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>One MoE layer call's routing plan: (token, slot) assignments sorted by expert into contiguous blocks, cut at the expert capacity.</summary>
/// <remarks>
/// Assignments are numbered slot-major (a = slot × tokens + token) and sorted stably by expert, so when an expert is over
/// capacity every token's first choice outranks any token's second choice, and earlier tokens outrank later ones. The
/// PyTorch reference (benchmarks/pytorch/hivemind_ref.py) implements the same rule; the parity test checks it.
/// Everything stays on the tokens' device except the per-expert counts, which the host needs to slice the blocks.
/// </remarks>
internal sealed class ExpertDispatch
{
    private readonly Tensor _token;
    private readonly Tensor _rowOfAssignment;
    private readonly long _tokens;
    private readonly long _topK;

    private ExpertDispatch(Tensor routedCounts, long[] routed, long[] kept, Tensor token, Tensor rowOfAssignment, long tokens, long topK)
    {
        RoutedCounts = routedCounts;
        Routed = routed;
        Kept = kept;
        _token = token;
        _rowOfAssignment = rowOfAssignment;
        _tokens = tokens;
        _topK = topK;
        Dropped = routed.Sum() - kept.Sum();
    }

    /// <summary>Assignments the router made per expert, on the device (for the load-balancing loss).</summary>
    public Tensor RoutedCounts { get; }

    /// <summary>Assignments the router made per expert, on the host.</summary>
    public long[] Routed { get; }

    /// <summary>Assignments each expert processes: its routed count cut at the capacity; the block sizes.</summary>
    public long[] Kept { get; }

    /// <summary>Assignments dropped because their expert was full.</summary>
    public long Dropped { get; }

    /// <summary>Plans the dispatch of <paramref name="topIdx"/> [tokens, k] (the experts each token chose, best first).</summary>
    public static ExpertDispatch Route(Tensor topIdx, int experts, long capacity)
    {
        long n = topIdx.shape[0], k = topIdx.shape[1];
        var device = topIdx.device;
        var expertOf = topIdx.t().reshape(-1);
        var counts = expertOf.bincount(null, experts);
        long[] routed = DeviceTransfer.ToHostInt64(counts);
        long[] kept = [.. routed.Select(c => Math.Min(c, capacity))];
        long keptTotal = kept.Sum();
        var (_, order) = expertOf.sort(stable: true);
        var keptOrder = order;
        if (keptTotal < n * k)
        {
            // Each expert's block is contiguous in sorted order, so its first `kept` entries are the ones that stay.
            var pieces = new List<Tensor>(experts);
            long offset = 0;
            for (int e = 0; e < experts; e++)
            {
                if (kept[e] > 0) pieces.Add(order.narrow(0, offset, kept[e]));
                offset += routed[e];
            }
            keptOrder = cat(pieces, 0);
        }
        // Scalars held by a ScalarScope across the calls: TorchSharp 0.107 lets the GC finalize implicit ones mid-call.
        using var scalars = new ScalarScope();
        var tokens = scalars.Of(n);
        var droppedRow = scalars.Of(keptTotal);
        var token = keptOrder.remainder(tokens);
        // Row of every assignment in the combined expert output, in token-major order (token × k + slot) for the weighted
        // sum; a dropped assignment points one past the kept rows, where Combine appends a zero row.
        var rows = full(n * k, droppedRow, ScalarType.Int64, device: device);
        rows.scatter_(0, keptOrder, arange(ScalarScope.Zero, droppedRow, ScalarScope.One, ScalarType.Int64, device: device));
        var rowOfAssignment = rows.view(k, n).t().reshape(-1);
        return new ExpertDispatch(counts, routed, kept, token, rowOfAssignment, n, k);
    }

    /// <summary>The kept assignments' tokens from <paramref name="flat"/> [tokens, width], one contiguous block per expert (empty blocks included).</summary>
    public Tensor[] Gather(Tensor flat)
    {
        // gather with an expanded index, not index_select: its backward is libtorch's parallel scatter_add fast path
        // rather than index_add's row-by-row loop.
        var index = _token.unsqueeze(1).expand(-1, flat.shape[1]);
        return flat.gather(0, index).split(Kept);
    }

    /// <summary>Σ over each token's slots of gate weight × expert output: [tokens, width] from the experts' block outputs (in expert order, empty blocks skipped) and the gate weights [tokens, k].</summary>
    public Tensor Combine(IReadOnlyList<Tensor> blockOutputs, Tensor gateWeights)
    {
        long width = blockOutputs[0].shape[1];
        var parts = blockOutputs.ToList();
        if (Dropped > 0) parts.Add(zeros(1, width, dtype: blockOutputs[0].dtype, device: blockOutputs[0].device));
        var outputs = cat(parts, 0);
        var index = _rowOfAssignment.unsqueeze(1).expand(-1, width);
        var perSlot = outputs.gather(0, index).view(_tokens, _topK, width);
        return gateWeights.unsqueeze(1).bmm(perSlot).squeeze(1);
    }
}
