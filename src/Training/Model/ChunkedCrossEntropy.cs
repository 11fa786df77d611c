using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>Cross-entropy through the output projection, a chunk of rows at a time: the [rows, vocabulary] logits never exist whole.</summary>
/// <remarks>
/// With GPT-2's 50,257 tokens a batch of 8 × 64 has 103 MB of fp32 logits, and <c>cross_entropy</c> keeps logits,
/// log-probabilities and their two gradients (four such buffers, each freshly mapped pages): the head, not the model, set the
/// step time (2.7 s of `tiny`'s step). Here each chunk's logits are made, reduced to a log-sum-exp, turned in place into the
/// gradient (softmax minus one-hot) and multiplied out into the gradients of the hidden states and of the head weight, all in
/// the forward pass, as Liger-Kernel's fused linear cross-entropy does; the chunk buffer is then reused. The returned loss
/// carries those gradients into autograd through a surrogate whose value is exactly zero, so <c>loss.backward()</c> and
/// any other term of the loss (the balance loss) work as before. Rows are independent, so per-row results equal
/// <c>cross_entropy(hidden @ weightᵀ, targets)</c> up to the matrix product's rounding.
/// </remarks>
public static class ChunkedCrossEntropy
{
    /// <summary>Floats of one chunk's logits (16 MiB): smaller chunks re-pack the head's weight for the matrix product once per chunk,
    /// larger ones leave the cache; 8–128 rows of GPT-2's vocabulary were timed with `Hivemind.Training.Benchmarks head-loss`.</summary>
    public const long ChunkElements = 1L << 22;

    /// <summary>Rows per chunk for <paramref name="vocabulary"/>: the whole batch for bytes, 83 rows for GPT-2's 50,257.</summary>
    public static int RowsPerChunk(long vocabulary) => (int)Math.Max(1, Math.Min(int.MaxValue, ChunkElements / Math.Max(1, vocabulary)));

    /// <summary>Mean cross-entropy of <c>hidden @ weightᵀ</c> against <paramref name="targets"/>, differentiable in <paramref name="hidden"/> and <paramref name="weight"/>.</summary>
    /// <param name="hidden">[rows, width] final hidden states (after the last layer norm).</param>
    /// <param name="weight">[vocabulary, width] output projection (the head's weight).</param>
    /// <param name="targets">[rows] int64 token ids in [0, vocabulary).</param>
    /// <param name="rowsPerChunk">Rows per chunk; <see cref="RowsPerChunk"/> by default.</param>
    public static Tensor MeanLoss(Tensor hidden, Tensor weight, Tensor targets, int rowsPerChunk = 0)
    {
        int chunk = CheckAndChunk(hidden, weight, targets, rowsPerChunk);
        long rows = hidden.shape[0];
        // Whole batch in one default chunk (a byte vocabulary): the logits are small, and libtorch's own cross_entropy
        // forward + backward is cheaper than the surrogate below (5.8 against 7.4 ms for `small`, session 10).
        if (rowsPerChunk == 0 && rows <= chunk)
            return nn.functional.cross_entropy(hidden.matmul(weight.t()), targets);
        using var scalars = new ScalarScope();
        Tensor lossValue, gradHidden, gradWeight;
        using (var outer = NewDisposeScope())
        using (no_grad())
        {
            var h = hidden.detach();
            var w = weight.detach();
            var losses = empty(rows, ScalarType.Float32, device: hidden.device);
            gradHidden = empty_like(h);
            gradWeight = zeros_like(w);
            var minusOne = scalars.Of(-1.0);
            for (long start = 0; start < rows; start += chunk)
            {
                using var inner = NewDisposeScope();
                long n = Math.Min(chunk, rows - start);
                var hc = h.narrow(0, start, n);
                var index = targets.narrow(0, start, n).unsqueeze(1);
                var logits = hc.matmul(w.t());
                var lse = logits.logsumexp(1, keepdim: true);
                losses.narrow(0, start, n).copy_(lse.sub(logits.gather(1, index)).squeeze(1));
                // d loss_row / d logits = softmax - one-hot, built in the logits' own buffer.
                logits.sub_(lse).exp_();
                logits.scatter_add_(1, index, full_like(index, minusOne, dtype: logits.dtype));
                gradHidden.narrow(0, start, n).copy_(logits.matmul(w));
                gradWeight.addmm_(logits.t(), hc);
            }
            var inverseRows = scalars.Of(1.0 / rows);
            gradHidden.mul_(inverseRows);
            gradWeight.mul_(inverseRows);
            lossValue = losses.mean();
            lossValue.MoveToOuterDisposeScope();
            gradHidden.MoveToOuterDisposeScope();
            gradWeight.MoveToOuterDisposeScope();
        }
        // surrogate − surrogate.detach() is exactly 0 but has gradients gradHidden and gradWeight.
        var surrogate = hidden.mul(gradHidden).sum().add(weight.mul(gradWeight).sum(), ScalarScope.One);
        return surrogate.sub(surrogate.detach()).add(lossValue, ScalarScope.One);
    }

    /// <summary>Per-row cross-entropy [rows] of <c>hidden @ weightᵀ</c> against <paramref name="targets"/>, without gradients.</summary>
    public static Tensor PerRowLoss(Tensor hidden, Tensor weight, Tensor targets, int rowsPerChunk = 0)
    {
        int chunk = CheckAndChunk(hidden, weight, targets, rowsPerChunk);
        long rows = hidden.shape[0];
        using var noGrad = no_grad();
        var losses = empty(rows, ScalarType.Float32, device: hidden.device);
        for (long start = 0; start < rows; start += chunk)
        {
            using var inner = NewDisposeScope();
            long n = Math.Min(chunk, rows - start);
            var logits = hidden.narrow(0, start, n).matmul(weight.t());
            var index = targets.narrow(0, start, n).unsqueeze(1);
            losses.narrow(0, start, n).copy_(logits.logsumexp(1, keepdim: true).sub(logits.gather(1, index)).squeeze(1));
        }
        return losses;
    }

    private static int CheckAndChunk(Tensor hidden, Tensor weight, Tensor targets, int rowsPerChunk)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(targets);
        if (hidden.dim() != 2 || weight.dim() != 2 || hidden.shape[1] != weight.shape[1])
            throw new ArgumentException($"hidden [{string.Join(", ", hidden.shape)}] and weight [{string.Join(", ", weight.shape)}] must be "
                                        + "[rows, width] and [vocabulary, width]; reshape the hidden states to rows first.");
        if (targets.dim() != 1 || targets.shape[0] != hidden.shape[0] || targets.dtype != ScalarType.Int64)
            throw new ArgumentException($"targets must be int64 [{hidden.shape[0]}] (one per hidden row), not {targets.dtype} [{string.Join(", ", targets.shape)}].");
        if (rowsPerChunk < 0)
            throw new ArgumentOutOfRangeException(nameof(rowsPerChunk), rowsPerChunk, "rows per chunk must be >= 1, or 0 for the default.");
        return rowsPerChunk == 0 ? RowsPerChunk(weight.shape[0]) : rowsPerChunk;
    }
}
