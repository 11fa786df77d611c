using Hivemind.Aggregation.Aggregators;
using Hivemind.Aggregation.PreAggregators;

namespace Hivemind.Aggregation.Spec;

/// <summary>Spec names to rule instances; the one place that lists every aggregator and pre-aggregator.</summary>
internal static class RuleCatalog
{
    public static readonly string[] Aggregators = ["mean", "median", "trimmed-mean", "krum", "multi-krum", "geomed", "cclip", "bulyan"];

    public static readonly string[] PreAggregators = ["nnm", "bucketing", "clip", "arc"];

    public static bool IsPreAggregator(string name) => PreAggregators.Contains(name);

    public static IAggregator CreateAggregator(SpecStage s)
    {
        try
        {
            IAggregator rule = s.Name switch
            {
                "mean" => new MeanAggregator(),
                "median" => new MedianAggregator(),
                "trimmed-mean" => new TrimmedMeanAggregator(s.Int("f")),
                "krum" => new KrumAggregator(s.Int("f")),
                "multi-krum" => new MultiKrumAggregator(s.Int("f"), s.Has("m") ? s.Int("m") : null),
                "geomed" => new GeometricMedianAggregator(
                    s.Double("nu", GeometricMedianAggregator.DefaultNu),
                    s.Int("iters", GeometricMedianAggregator.DefaultIterations),
                    s.Double("tol", GeometricMedianAggregator.DefaultTolerance)),
                "cclip" => new CenteredClippingAggregator(s.Double("tau"), s.Int("iters", 1), s.Double("beta", 0)),
                "bulyan" => new BulyanAggregator(s.Int("f")),
                _ => throw s.Invalid(Unknown(s.Name)),
            };
            s.RejectUnknown(Parameters(s.Name));
            return rule;
        }
        catch (AggregationConfigException e)
        {
            throw s.Invalid(e.Message, e.Parameter);
        }
    }

    public static IPreAggregator CreatePreAggregator(SpecStage s)
    {
        try
        {
            IPreAggregator stage = s.Name switch
            {
                "nnm" => new NearestNeighborMixing(s.Int("f")),
                "bucketing" => new Bucketing(s.Int("s"), s.Int("seed", 0)),
                "clip" => new StaticClipping(s.Double("tau")),
                "arc" => new AdaptiveRobustClipping(s.Int("f")),
                _ => throw s.Invalid(Unknown(s.Name)),
            };
            s.RejectUnknown(Parameters(s.Name));
            return stage;
        }
        catch (AggregationConfigException e)
        {
            throw s.Invalid(e.Message, e.Parameter);
        }
    }

    public static string Unknown(string name) =>
        $"unknown rule \"{name}\"; aggregators: {string.Join(", ", Aggregators)}; pre-aggregators: {string.Join(", ", PreAggregators)}";

    private static string[] Parameters(string name) => name switch
    {
        "trimmed-mean" or "krum" or "bulyan" or "nnm" or "arc" => ["f"],
        "multi-krum" => ["f", "m"],
        "geomed" => ["nu", "iters", "tol"],
        "cclip" => ["tau", "iters", "beta"],
        "bucketing" => ["s", "seed"],
        "clip" => ["tau"],
        _ => [],
    };
}
