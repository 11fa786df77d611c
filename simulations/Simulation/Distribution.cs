namespace Hivemind.Simulations.Simulation;

/// <summary>A positive random quantity: constant, exponential, log-normal or uniform. In JSON a bare number is a constant.</summary>
public sealed record Distribution(DistributionKind Kind, double Value = 0, double Mean = 0, double Median = 0, double Sigma = 0, double Min = 0, double Max = 0)
{
    /// <summary>A distribution that always gives <paramref name="value"/>.</summary>
    public static Distribution Constant(double value) => new(DistributionKind.Constant, Value: value);

    /// <summary>Exponential with <paramref name="mean"/>.</summary>
    public static Distribution Exponential(double mean) => new(DistributionKind.Exponential, Mean: mean);

    /// <summary>Log-normal with <paramref name="median"/> and <paramref name="sigma"/>.</summary>
    public static Distribution LogNormal(double median, double sigma) => new(DistributionKind.LogNormal, Median: median, Sigma: sigma);

    /// <summary>The same family and spread moved so its centre (median, mean, midpoint or value) is <paramref name="center"/>.</summary>
    public Distribution WithCenter(double center) => Kind switch
    {
        DistributionKind.Constant => this with { Value = center },
        DistributionKind.Exponential => this with { Mean = center },
        DistributionKind.LogNormal => this with { Median = center },
        DistributionKind.Uniform => this with { Min = Min * center / ((Min + Max) / 2), Max = Max * center / ((Min + Max) / 2) },
        _ => throw new InvalidOperationException($"unknown distribution kind {Kind}"),
    };

    /// <summary>The centre <see cref="WithCenter"/> moves: value, mean, median or midpoint.</summary>
    public double Center => Kind switch
    {
        DistributionKind.Constant => Value,
        DistributionKind.Exponential => Mean,
        DistributionKind.LogNormal => Median,
        DistributionKind.Uniform => (Min + Max) / 2,
        _ => throw new InvalidOperationException($"unknown distribution kind {Kind}"),
    };

    /// <summary>One draw from <paramref name="random"/>.</summary>
    public double Sample(Random random) => Kind switch
    {
        DistributionKind.Constant => Value,
        // 1 - U lies in (0, 1], so the log is finite.
        DistributionKind.Exponential => -Mean * Math.Log(1.0 - random.NextDouble()),
        DistributionKind.LogNormal => Median * Math.Exp(Sigma * StandardNormal(random)),
        DistributionKind.Uniform => Min + (Max - Min) * random.NextDouble(),
        _ => throw new InvalidOperationException($"unknown distribution kind {Kind}"),
    };

    /// <summary>The expected value, for reports.</summary>
    public double Expected => Kind switch
    {
        DistributionKind.Constant => Value,
        DistributionKind.Exponential => Mean,
        DistributionKind.LogNormal => Median * Math.Exp(Sigma * Sigma / 2),
        DistributionKind.Uniform => (Min + Max) / 2,
        _ => double.NaN,
    };

    /// <summary>Problems with the parameters, each naming <paramref name="path"/>, the value and the fix.</summary>
    public IEnumerable<string> Validate(string path)
    {
        switch (Kind)
        {
            case DistributionKind.Constant when !(Value > 0):
                yield return $"{path}: constant value {Value} must be > 0";
                break;
            case DistributionKind.Exponential when !(Mean > 0):
                yield return $"{path}: exponential needs \"mean\" > 0, got {Mean}";
                break;
            case DistributionKind.LogNormal when !(Median > 0) || !(Sigma >= 0):
                yield return $"{path}: lognormal needs \"median\" > 0 and \"sigma\" >= 0, got median {Median}, sigma {Sigma}";
                break;
            case DistributionKind.Uniform when !(Min > 0) || !(Max >= Min):
                yield return $"{path}: uniform needs 0 < \"min\" <= \"max\", got min {Min}, max {Max}";
                break;
        }
    }

    /// <summary>A short description for reports ("lognormal(median 100, σ 0.5)").</summary>
    public override string ToString() => Kind switch
    {
        DistributionKind.Constant => Fmt(Value),
        DistributionKind.Exponential => $"exponential(mean {Fmt(Mean)})",
        DistributionKind.LogNormal => $"lognormal(median {Fmt(Median)}, sigma {Fmt(Sigma)})",
        DistributionKind.Uniform => $"uniform({Fmt(Min)}, {Fmt(Max)})",
        _ => Kind.ToString(),
    };

    private static string Fmt(double v) => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);

    // Box–Muller; one of the pair is discarded so each draw consumes a fixed two uniforms.
    private static double StandardNormal(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
