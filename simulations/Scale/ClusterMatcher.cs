namespace Hivemind.Simulations.Scale;

/// <summary>Finds how many volunteers match a cluster: doubling, then bisection on the pool's simulated tokens/s.</summary>
/// <remarks>
/// Assumes tokens/s grows with the pool, which holds until the coordinator's link or aggregation saturates;
/// past that point the doubling reaches the cap and the search reports "not matched" with the best pool seen.
/// </remarks>
public static class ClusterMatcher
{
    // Stop bisecting when the bracket is within this fraction of its upper end: the simulated
    // throughput itself varies by more than this between neighbouring pool sizes (random draws).
    private const double RelativeTolerance = 0.02;

    /// <summary>Searches pool sizes from <paramref name="minimum"/> to <paramref name="maximum"/> built by <paramref name="poolOf"/>.</summary>
    public static ClusterMatch Find(
        Func<int, ScaleConfig> poolOf, ClusterTarget cluster, int minimum, int maximum, string device, double linkMbps)
    {
        var first = poolOf(minimum);
        double target = cluster.TokensPerSecond(first.Model);
        int trials = 0;
        ScaleResult Trial(int n, out ScaleResult r)
        {
            trials++;
            r = ScaleSimulation.Run(n == minimum ? first : poolOf(n));
            return r;
        }

        int low = minimum;
        Trial(low, out var best);
        int bestN = low;
        if (best.TokensPerSecond >= target)
        {
            return new ClusterMatch(device, linkMbps, cluster.Name, target, low, best, low, trials);
        }

        int high = low;
        ScaleResult? highResult = null;
        while (high < maximum)
        {
            high = (int)Math.Min((long)high * 2, maximum);
            Trial(high, out var r);
            if (r.TokensPerSecond > best.TokensPerSecond)
            {
                best = r;
                bestN = high;
            }

            if (r.TokensPerSecond >= target)
            {
                highResult = r;
                break;
            }

            low = high;
        }

        if (highResult is null)
        {
            return new ClusterMatch(device, linkMbps, cluster.Name, target, null, best, bestN, trials);
        }

        while (high - low > Math.Max(1, (int)(high * RelativeTolerance)))
        {
            int mid = low + (high - low) / 2;
            Trial(mid, out var r);
            if (r.TokensPerSecond >= target)
            {
                high = mid;
                highResult = r;
            }
            else
            {
                low = mid;
            }
        }

        return new ClusterMatch(device, linkMbps, cluster.Name, target, high, highResult, high, trials);
    }
}
