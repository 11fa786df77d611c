using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.PreAggregators;

/// <summary>
/// Bucketing (Karimireddy et al. 2022): shuffle, split into buckets of s, output each bucket's
/// mean (⌈n/s⌉ outputs). The aggregator after it sees up to f spoiled buckets, so its f
/// must count buckets, not inputs. The shuffle is seeded for reproducible runs.
/// </summary>
public sealed class Bucketing : IPreAggregator
{
    private readonly int _s;
    private readonly int _seed;
    private readonly Random _random;

    public Bucketing(int s, int seed = 0)
    {
        Breakdown.RequireAtLeast("bucketing", "s", s, 1, "inputs per bucket");

        _s = s;
        _seed = seed;
        _random = new Random(seed);
    }

    public string Name => $"bucketing(s={_s},seed={_seed})";

    public bool PreservesCount => _s == 1;

    /// <remarks>In 64 bits: n + s − 1 overflows int for s near int.MaxValue.</remarks>
    public int OutputCount(int n) => (int)(((long)n + _s - 1) / _s);

    public void EnsureWithinBreakdown(int n) => Breakdown.RequireAtLeastOne(Name, n);

    public IReadOnlyList<ReadOnlyMemory<float>> Transform(IReadOnlyList<ReadOnlyMemory<float>> inputs)
    {
        EnsureWithinBreakdown(inputs.Count);
        if (_s == 1)
        {
            return inputs;
        }

        int[] order = Enumerable.Range(0, inputs.Count).ToArray();
        _random.Shuffle(order);
        int[][] groups = order.Chunk(_s).ToArray();
        return RowMixer.MeanOfGroups(inputs, groups).Select(o => (ReadOnlyMemory<float>)o).ToArray();
    }
}
