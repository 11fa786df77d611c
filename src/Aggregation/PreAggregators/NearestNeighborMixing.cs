using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.PreAggregators;

/// <summary>
/// Nearest-neighbour mixing (Allouah et al. 2023): input i becomes the mean of its n−f nearest
/// inputs (itself included). Needs n &gt; 2f. Distances come from the median-centred blocked Gram
/// matrix, so huge rows and rows far from the origin keep their ranking.
/// </summary>
public sealed class NearestNeighborMixing : IPreAggregator
{
    private readonly int _f;

    public NearestNeighborMixing(int f)
    {
        Breakdown.RequireNonNegative("nnm", "f", f);
        _f = f;
    }

    public string Name => $"nnm(f={_f})";

    public bool PreservesCount => true;

    public void EnsureWithinBreakdown(int n) => Breakdown.Require(Name, n, _f, 2, 0, "Allouah et al. 2023");

    public IReadOnlyList<ReadOnlyMemory<float>> Transform(IReadOnlyList<ReadOnlyMemory<float>> inputs)
    {
        EnsureWithinBreakdown(inputs.Count);
        int n = inputs.Count;
        double[] distances = GramMatrix.SquaredDistances(inputs);
        var groups = new int[n][];
        for (int i = 0; i < n; i++)
        {
            int row = i;

            // Itself first (distance 0), then by distance with NaN last, ties by index: deterministic.
            groups[i] = Enumerable.Range(0, n)
                .OrderBy(j => j == row ? -1 : NanLast.Key(distances[row * n + j]))
                .ThenBy(j => j)
                .Take(n - _f)
                .ToArray();
        }

        return RowMixer.MeanOfGroups(inputs, groups).Select(o => (ReadOnlyMemory<float>)o).ToArray();
    }
}
