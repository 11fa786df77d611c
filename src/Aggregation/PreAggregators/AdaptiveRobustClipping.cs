using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.PreAggregators;

/// <summary>
/// Adaptive robust clipping, ARC (Allouah et al. 2024): the k = ⌊2(f/n)(n−f)⌋ largest-norm inputs
/// are clipped to the (k+1)-th largest norm. Needs n &gt; 2f.
/// </summary>
public sealed class AdaptiveRobustClipping : IPreAggregator
{
    private readonly int _f;

    public AdaptiveRobustClipping(int f)
    {
        Breakdown.RequireNonNegative("arc", "f", f);
        _f = f;
    }

    public string Name => $"arc(f={_f})";

    public bool PreservesCount => true;

    public void EnsureWithinBreakdown(int n) => Breakdown.Require(Name, n, _f, 2, 0, "Allouah et al. 2024");

    public IReadOnlyList<ReadOnlyMemory<float>> Transform(IReadOnlyList<ReadOnlyMemory<float>> inputs)
    {
        EnsureWithinBreakdown(inputs.Count);
        int n = inputs.Count;
        int k = (int)Math.Floor(2.0 * _f / n * (n - _f));
        if (k == 0)
        {
            return inputs;
        }

        var norms = new double[n];
        Parallel.For(0, n, AggregationParallelism.Current, i => norms[i] = VectorMath.Norm(inputs[i].Span));
        int[] byNorm = Enumerable.Range(0, n).OrderByDescending(i => NanLast.Key(norms[i])).ThenBy(i => i).ToArray();
        double threshold = norms[byNorm[k]];
        var outputs = inputs.ToArray();
        for (int r = 0; r < k; r++)
        {
            int i = byNorm[r];
            outputs[i] = VectorMath.ClipToNorm(inputs[i], threshold);
        }

        return outputs;
    }
}
