namespace Hivemind.Training.Benchmarks;

/// <summary>A sample's median with a distribution-free 95% confidence interval from order statistics (binomial ranks).</summary>
/// <remarks>
/// For n independent draws the number below the true median is Binomial(n, ½), so the interval
/// [x(j), x(n+1−j)] with the largest j such that P(B &lt; j) ≤ 2.5% covers the median with at least 95% probability
/// whatever the distribution (for n = 30: ranks 10 and 21, coverage 95.7%). No normality or bootstrap resampling
/// is assumed; a step-time distribution is skewed by the machine's other load, which this does not mind.
/// </remarks>
internal sealed record MedianInterval(double Median, double Low, double High, int Count, double Coverage)
{
    private const double Confidence = 0.95;

    /// <summary>Fewer draws than this cannot give a 95% interval from order statistics at all (½⁵ × 2 > 5%).</summary>
    public const int MinimumCount = 6;

    public static MedianInterval Of(IReadOnlyList<double> values)
    {
        if (values.Count < MinimumCount)
            throw new ArgumentException($"{values.Count} measurements cannot give a 95% interval for the median; measure at least {MinimumCount} (30 for a result to publish).");
        var x = values.Order().ToArray();
        int n = x.Length;
        double median = n % 2 == 1 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
        double tail = (1 - Confidence) / 2;
        // j is 1-based: the largest rank whose lower tail P(B <= j - 1) stays within 2.5%.
        int j = 1;
        while (j + 1 <= n / 2 && BinomialCdf(n, j) <= tail) j++;
        double coverage = 1 - 2 * BinomialCdf(n, j - 1);
        return new MedianInterval(median, x[j - 1], x[n - j], n, coverage);
    }

    /// <summary>P(B ≤ k) for B ~ Binomial(n, ½), summed in log space so that large n does not overflow.</summary>
    private static double BinomialCdf(int n, int k)
    {
        double sum = 0, logTerm = -n * Math.Log(2); // log C(n, 0) / 2^n
        for (int i = 0; i <= k; i++)
        {
            sum += Math.Exp(logTerm);
            logTerm += Math.Log(n - i) - Math.Log(i + 1);
        }
        return sum;
    }
}
