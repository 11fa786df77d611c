namespace Hivemind.Aggregation;

/// <summary>Shared checks that a rule's f fits the number of inputs, with messages naming n, f and the bound.</summary>
internal static class Breakdown
{
    public static void RequireAtLeastOne(string rule, int n)
    {
        if (n < 1)
        {
            throw new AggregationConfigException($"{rule}: needs at least 1 input, got n={n}.");
        }
    }

    /// <summary>
    /// Throws unless n &gt; factor·f + offset, the form every breakdown bound here takes. The bound is
    /// computed in 64 bits: factor·f overflows int for f near int.MaxValue and would wrap to a bound
    /// every n passes.
    /// </summary>
    public static void Require(string rule, int n, int f, int factor, int offset, string paper)
    {
        long minimum = (long)factor * f + offset + 1;
        if (n < minimum)
        {
            long largestF = Math.Max(0L, ((long)n - offset - 1) / factor);
            throw new AggregationConfigException(
                $"{rule}: n={n} inputs with f={f} is beyond the breakdown point: it needs n > {factor}f+{offset} = {minimum - 1}, " +
                $"i.e. n >= {minimum} ({paper}). Lower f to at most {largestF} or collect more updates.");
        }
    }

    public static void RequireNonNegative(string rule, string name, int value)
    {
        if (value < 0)
        {
            throw new AggregationConfigException($"{rule}: {name}={value} must be >= 0.", name);
        }
    }

    public static void RequireAtLeast(string rule, string name, int value, int minimum, string meaning)
    {
        if (value < minimum)
        {
            throw new AggregationConfigException($"{rule}: {name}={value} must be >= {minimum} ({meaning}).", name);
        }
    }

    public static void RequirePositive(string rule, string name, double value)
    {
        if (!(value > 0) || double.IsInfinity(value))
        {
            throw new AggregationConfigException($"{rule}: {name}={value} must be a finite number > 0.", name);
        }
    }
}
