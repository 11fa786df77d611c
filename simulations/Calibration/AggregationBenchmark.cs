using System.Diagnostics;
using Hivemind.Aggregation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Calibration;

/// <summary>Times the real <see cref="AggregationPipeline"/> of each cost rule and turns it into nanoseconds per element per input.</summary>
public static class AggregationBenchmark
{
    /// <summary>Elements per input: 1 Mi floats (4 MiB), the order of a `small` trunk and past the caches.</summary>
    public const int Elements = 1 << 20;

    /// <summary>Inputs per call: the attack matrix's 10 volunteers (Krum and trimmed mean need n > 2f + 2 with f = 3).</summary>
    public const int Inputs = 10;

    // Every loop is bounded: at most this many timed calls per rule, whatever the time budget.
    private const int MaxCalls = 100;
    private const double NanosecondsPerSecond = 1e9;

    /// <summary>The src/Aggregation spec timed for each rule (the attack matrix's settings).</summary>
    public static IReadOnlyList<(AggregationRule Rule, string Spec)> Specs { get; } =
    [
        (AggregationRule.Mean, "mean"),
        (AggregationRule.Median, "median"),
        (AggregationRule.TrimmedMean, "trimmed-mean(f=3)"),
        (AggregationRule.Krum, "krum(f=3)"),
        (AggregationRule.GeometricMedian, "geomed"),
        (AggregationRule.CenteredClipping, "cclip(tau=1,iters=3)"),
    ];

    /// <summary>Times every rule for about <paramref name="budget"/> each.</summary>
    public static AggregationCosts Measure(TimeSpan budget, int seed = 1)
    {
        var random = new Random(seed);
        var inputs = new List<ReadOnlyMemory<float>>();
        for (int i = 0; i < Inputs; i++)
        {
            var x = new float[Elements];
            for (int j = 0; j < x.Length; j++)
            {
                // Pseudo-gradient-like values: small, centred, all distinct.
                x[j] = (float)((random.NextDouble() - 0.5) * 1e-2);
            }

            inputs.Add(x);
        }

        var rules = new Dictionary<string, AggregationConstant>(StringComparer.Ordinal);
        foreach (var (rule, spec) in Specs)
        {
            double seconds = TimeCall(AggregationPipeline.Parse(spec), inputs, budget);
            int exponent = AggregationCost.Estimates[rule].InputExponent;
            double ns = seconds * NanosecondsPerSecond / (Elements * Math.Pow(Inputs, exponent));
            rules[Scenarios.KebabEnumConverter.NameOf(rule)] = new AggregationConstant(Math.Round(ns, 4), exponent, spec);
        }

        return new AggregationCosts
        {
            Source = $"`calibrate`: real AggregationPipeline, {Inputs} inputs × {Elements} fp32 elements, wall time on this machine "
                + $"({Environment.ProcessorCount} cores; cclip and geomed parallelize, the others run on one thread)",
            Rules = rules,
        };
    }

    private static double TimeCall(AggregationPipeline pipeline, List<ReadOnlyMemory<float>> inputs, TimeSpan budget)
    {
        pipeline.Aggregate(inputs);
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (calls < MaxCalls && (calls == 0 || watch.Elapsed < budget))
        {
            pipeline.Aggregate(inputs);
            calls++;
        }

        return watch.Elapsed.TotalSeconds / calls;
    }
}
