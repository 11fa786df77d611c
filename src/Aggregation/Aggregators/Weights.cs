namespace Hivemind.Aggregation.Aggregators;

/// <summary>Turns caller weights (empty = uniform) into float coefficients that sum to 1.</summary>
internal static class Weights
{
    public static float[] Normalized(ReadOnlySpan<double> weights, int n, string rule)
    {
        var coefficients = new float[n];
        if (weights.IsEmpty)
        {
            Array.Fill(coefficients, 1f / n);
            return coefficients;
        }

        if (weights.Length != n)
        {
            throw new ArgumentException($"{rule}: got {weights.Length} weights for {n} inputs; pass one weight per input or none.");
        }

        double total = 0;
        foreach (double w in weights)
        {
            if (!(w >= 0) || double.IsInfinity(w))
            {
                throw new ArgumentException($"{rule}: weight {w} must be finite and >= 0.");
            }

            total += w;
        }

        if (total <= 0)
        {
            throw new ArgumentException($"{rule}: all {n} weights are zero; at least one must be positive.");
        }

        for (int i = 0; i < n; i++)
        {
            coefficients[i] = (float)(weights[i] / total);
        }

        return coefficients;
    }
}
