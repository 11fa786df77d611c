using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.PreAggregators;

/// <summary>Static norm clipping: every input scaled down to norm at most τ.</summary>
public sealed class StaticClipping : IPreAggregator
{
    private readonly double _tau;

    public StaticClipping(double tau)
    {
        Breakdown.RequirePositive("clip", "tau", tau);
        _tau = tau;
    }

    public string Name => $"clip(tau={_tau:R})";

    public bool PreservesCount => true;

    public void EnsureWithinBreakdown(int n) => Breakdown.RequireAtLeastOne(Name, n);

    public IReadOnlyList<ReadOnlyMemory<float>> Transform(IReadOnlyList<ReadOnlyMemory<float>> inputs)
    {
        var outputs = new ReadOnlyMemory<float>[inputs.Count];
        Parallel.For(0, inputs.Count, AggregationParallelism.Current, i => outputs[i] = VectorMath.ClipToNorm(inputs[i], _tau));
        return outputs;
    }
}
