using System.Text.Json;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Calibration;

/// <summary>The per-rule aggregation constants the timing model uses, as read from (or written to) aggregation-costs.json.</summary>
public sealed record AggregationCosts
{
    private const double SecondsPerNanosecond = 1e-9;

    /// <summary>Where the constants come from (machine, sizes, command).</summary>
    public required string Source { get; init; }

    /// <summary>Constants by kebab-case rule name (mean, median, trimmed-mean, krum, geometric-median, centered-clipping).</summary>
    public required IReadOnlyDictionary<string, AggregationConstant> Rules { get; init; }

    /// <summary>The constants of <paramref name="rule"/>; the error names the missing rule and the fix.</summary>
    public AggregationConstant this[AggregationRule rule] => Rules.TryGetValue(KebabEnumConverter.NameOf(rule), out var c)
        ? c
        : throw new KeyNotFoundException($"aggregation costs ({Source}) have no rule '{KebabEnumConverter.NameOf(rule)}'; add it to aggregation-costs.json or rerun `calibrate`");

    /// <summary>Seconds to aggregate <paramref name="elements"/> values from <paramref name="inputs"/> updates on <paramref name="cores"/> cores.</summary>
    public double Seconds(AggregationRule rule, long elements, double inputs, int cores)
    {
        if (inputs <= 0)
        {
            return 0;
        }

        var c = this[rule];
        return c.NanosecondsPerElementInput * elements * Math.Pow(inputs, c.InputExponent) * SecondsPerNanosecond / cores;
    }

    /// <summary>Parses aggregation-costs.json; every rule must have a positive constant and an exponent of 1 or 2.</summary>
    public static AggregationCosts Parse(string json, string source)
    {
        AggregationCosts? costs;
        try
        {
            costs = JsonSerializer.Deserialize<AggregationCosts>(json, ScenarioLoader.Options);
        }
        catch (JsonException e)
        {
            throw new ScenarioException($"{source}: not valid aggregation costs ({e.Message}); rerun `calibrate` to rewrite it");
        }

        if (costs is null)
        {
            throw new ScenarioException($"{source}: empty aggregation costs; rerun `calibrate` to rewrite it");
        }

        foreach (var (name, c) in costs.Rules)
        {
            if (!(c.NanosecondsPerElementInput > 0) || c.InputExponent is < 1 or > 2)
            {
                throw new ScenarioException($"{source}: rule '{name}' has nanosecondsPerElementInput {c.NanosecondsPerElementInput} and inputExponent {c.InputExponent}; need > 0 and 1 or 2");
            }
        }

        foreach (var rule in Enum.GetValues<AggregationRule>())
        {
            _ = costs[rule];
        }

        return costs;
    }

    /// <summary>The file's JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ScenarioLoader.Options) + "\n";
}
