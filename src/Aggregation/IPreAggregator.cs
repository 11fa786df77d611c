namespace Hivemind.Aggregation;

/// <summary>A transform applied to the inputs before the aggregator (mixing, bucketing, clipping).</summary>
public interface IPreAggregator
{
    /// <summary>The stage's canonical spec, e.g. <c>nnm(f=2)</c>.</summary>
    string Name => GetType().Name;

    /// <summary>Throws <see cref="AggregationConfigException"/> when n inputs are too few for this stage.</summary>
    void EnsureWithinBreakdown(int n) { }

    /// <summary>True when the output count equals the input count and output i descends from input i, so weights still apply.</summary>
    bool PreservesCount => true;

    /// <summary>How many outputs n inputs produce.</summary>
    int OutputCount(int n) => n;

    /// <summary>Returns the transformed inputs; never writes into the given buffers.</summary>
    IReadOnlyList<ReadOnlyMemory<float>> Transform(IReadOnlyList<ReadOnlyMemory<float>> inputs);
}
