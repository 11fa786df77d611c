namespace Hivemind.Data;

/// <summary>Checks and samples domain mixes (weights over the corpus domains that sum to one).</summary>
public static class DomainMix
{
    /// <summary>Tolerance on the sum of the weights, loose enough for weights written as decimals.</summary>
    public const double SumTolerance = 1e-9;

    /// <summary>Equal weight on every domain.</summary>
    public static double[] Uniform(int domains)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(domains, 1);
        return Enumerable.Repeat(1.0 / domains, domains).ToArray();
    }

    /// <summary>All weight on one domain.</summary>
    public static double[] Single(int domains, int domain)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(domains, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(domain);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(domain, domains);
        var mix = new double[domains];
        mix[domain] = 1;
        return mix;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad weight when the mix is not a distribution over the domains.</summary>
    public static void Validate(IReadOnlyList<double>? mix, int domains)
    {
        if (mix is null || mix.Count != domains)
        {
            throw new ArgumentException($"The domain mix has {mix?.Count ?? 0} weights but the corpus has {domains} domains; give one weight per domain.");
        }
        double sum = 0;
        for (int d = 0; d < mix.Count; d++)
        {
            if (!double.IsFinite(mix[d]) || mix[d] < 0)
            {
                throw new ArgumentException($"Domain mix weight {d} is {mix[d]}; weights must be finite and non-negative.");
            }
            sum += mix[d];
        }
        if (Math.Abs(sum - 1) > SumTolerance)
        {
            throw new ArgumentException($"The domain mix sums to {sum}, not 1; normalise the weights.");
        }
    }

    internal static int Sample(IReadOnlyList<double> mix, double u)
    {
        double acc = 0;
        int last = 0;
        for (int d = 0; d < mix.Count; d++)
        {
            if (mix[d] <= 0)
            {
                continue;
            }
            acc += mix[d];
            last = d;
            if (u < acc)
            {
                return d;
            }
        }
        return last;
    }
}
