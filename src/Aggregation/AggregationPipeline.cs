using Hivemind.Aggregation.Policy;
using Hivemind.Aggregation.Spec;

namespace Hivemind.Aggregation;

/// <summary>
/// Pre-aggregators then one aggregator, built from a spec such as <c>nnm(f=2) | trimmed-mean(f=2)</c>.
/// Holds the state of stateful rules, so use one pipeline per tensor group and checkpoint it
/// with <see cref="ExportState"/>/<see cref="ImportState"/>. Not thread-safe.
/// </summary>
public sealed class AggregationPipeline
{
    private readonly IReadOnlyList<IPreAggregator> _preAggregators;

    public AggregationPipeline(IReadOnlyList<IPreAggregator> preAggregators, IAggregator aggregator)
    {
        _preAggregators = preAggregators;
        Aggregator = aggregator;
        Spec = string.Join(" | ", preAggregators.Select(p => p.Name).Append(aggregator.Name));
    }

    /// <summary>The canonical spec: every parameter spelled out, defaults included.</summary>
    public string Spec { get; }

    /// <summary>The final rule.</summary>
    public IAggregator Aggregator { get; }

    /// <summary>Parses a spec; <see cref="SpecParseException"/> points at the bad token's column.</summary>
    public static AggregationPipeline Parse(string spec)
    {
        IReadOnlyList<SpecStage> stages = SpecParser.Parse(spec);
        var preAggregators = new List<IPreAggregator>();
        for (int i = 0; i < stages.Count - 1; i++)
        {
            SpecStage stage = stages[i];
            if (!RuleCatalog.IsPreAggregator(stage.Name))
            {
                string problem = RuleCatalog.Aggregators.Contains(stage.Name)
                    ? $"\"{stage.Name}\" is an aggregator and must be the last stage; only pre-aggregators ({string.Join(", ", RuleCatalog.PreAggregators)}) may come before \"|\""
                    : RuleCatalog.Unknown(stage.Name);
                throw stage.Invalid(problem);
            }

            preAggregators.Add(RuleCatalog.CreatePreAggregator(stage));
        }

        SpecStage last = stages[^1];
        if (RuleCatalog.IsPreAggregator(last.Name))
        {
            throw last.Invalid($"\"{last.Name}\" is a pre-aggregator; the spec must end with an aggregator ({string.Join(", ", RuleCatalog.Aggregators)})");
        }

        return new AggregationPipeline(preAggregators, RuleCatalog.CreateAggregator(last));
    }

    /// <summary>Applies the input policy (see <see cref="InputPolicy"/>), then every stage; weights default to uniform.</summary>
    /// <param name="parallelism">The budget of every parallel loop this call runs (<see cref="AggregationParallelism"/>); null uses every core.</param>
    public AggregationOutcome Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, IReadOnlyList<double>? weights = null, ParallelOptions? parallelism = null)
    {
        using var budget = AggregationParallelism.Use(parallelism);
        FilteredInputs filtered = InputPolicy.Apply(inputs, weights);
        IReadOnlyList<ReadOnlyMemory<float>> current = filtered.Accepted;
        double[] currentWeights = filtered.Weights;
        EnsureWithinBreakdown(current.Count);
        foreach (IPreAggregator stage in _preAggregators)
        {
            current = stage.Transform(current);
            if (!stage.PreservesCount)
            {
                // Bucket means mix inputs, so per-input weights no longer apply.
                currentWeights = Enumerable.Repeat(1.0, current.Count).ToArray();
            }
        }

        float[] result = Aggregator.Aggregate(current, weights is null ? ReadOnlySpan<double>.Empty : currentWeights);
        IReadOnlyList<string> warnings = Aggregator is IAggregationDiagnostics diagnostics ? diagnostics.LastWarnings : [];
        return new AggregationOutcome(result, filtered.Rejected) { Warnings = warnings };
    }

    /// <summary>Checks every stage against n inputs before any work, so a bad f fails fast with n, f and the bound.</summary>
    public void EnsureWithinBreakdown(int n)
    {
        foreach (IPreAggregator stage in _preAggregators)
        {
            stage.EnsureWithinBreakdown(n);
            n = stage.OutputCount(n);
        }

        Aggregator.EnsureWithinBreakdown(n);
    }

    /// <summary>The state of a stateful aggregator (centered clipping's centre); empty otherwise.</summary>
    public float[] ExportState() => Aggregator is IStatefulAggregator s ? s.ExportState() : [];

    /// <summary>Restores <see cref="ExportState"/>'s output; throws if this pipeline's rule keeps no state but state is given.</summary>
    public void ImportState(float[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (Aggregator is IStatefulAggregator s)
        {
            s.ImportState(state);
        }
        else if (state.Length > 0)
        {
            throw new InvalidOperationException($"pipeline \"{Spec}\" keeps no state, but {state.Length} state values were given; was the checkpoint written for another rule?");
        }
    }
}
