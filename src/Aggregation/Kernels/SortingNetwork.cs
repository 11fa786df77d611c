using System.Collections.Concurrent;

namespace Hivemind.Aggregation.Kernels;

/// <summary>
/// Batcher's odd-even merge sort as a comparator list, pruned to the output positions a rule reads.
/// A network (not a data-dependent sort) lets one min/max pair sort 8 coordinates at once in SIMD lanes.
/// </summary>
internal static class SortingNetwork
{
    private static readonly ConcurrentDictionary<(int N, int Lo, int Hi), int[]> Cache = new();

    /// <summary>Comparator pairs (a, b), a &lt; b, flattened; after running them positions lo..hi hold the sorted order's lo..hi.</summary>
    public static int[] For(int n, int lo, int hi) => Cache.GetOrAdd((n, lo, hi), static key => Build(key.N, key.Lo, key.Hi));

    private static int[] Build(int n, int lo, int hi)
    {
        var pairs = new List<(int A, int B)>();
        int size = 1;
        while (size < n)
        {
            size <<= 1;
        }

        // Wires at or beyond n act as +infinity, so comparators touching them are no-ops and are dropped.
        for (int p = 1; p < size; p <<= 1)
        {
            for (int k = p; k >= 1; k >>= 1)
            {
                for (int j = k % p; j <= size - 1 - k; j += 2 * k)
                {
                    for (int i = 0; i <= Math.Min(k - 1, size - j - k - 1); i++)
                    {
                        int a = i + j;
                        int b = i + j + k;
                        if (a / (2 * p) == b / (2 * p) && b < n)
                        {
                            pairs.Add((a, b));
                        }
                    }
                }
            }
        }

        // Backward pruning: a comparator matters only if a wire it writes is read later.
        var needed = new bool[n];
        for (int i = lo; i <= hi; i++)
        {
            needed[i] = true;
        }

        var kept = new List<(int A, int B)>();
        for (int c = pairs.Count - 1; c >= 0; c--)
        {
            (int a, int b) = pairs[c];
            if (needed[a] || needed[b])
            {
                needed[a] = needed[b] = true;
                kept.Add((a, b));
            }
        }

        kept.Reverse();
        var flat = new int[kept.Count * 2];
        for (int c = 0; c < kept.Count; c++)
        {
            flat[2 * c] = kept[c].A;
            flat[2 * c + 1] = kept[c].B;
        }

        return flat;
    }
}
