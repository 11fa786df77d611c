namespace Hivemind.Aggregation;

/// <summary>
/// The parallelism budget every kernel, pre-aggregator and input check of this library hands to <see cref="Parallel"/>: unlimited
/// (all cores) unless <see cref="AggregationPipeline.Aggregate(IReadOnlyList{ReadOnlyMemory{float}}, IReadOnlyList{double}?, ParallelOptions?)"/>
/// was given a budget, which then holds for everything that call runs.
/// </summary>
/// <remarks>
/// A coordinator aggregates on the machine that also answers its volunteers' calls: a round close that fans out over every core
/// makes those calls queue behind it (issue 9's lease tail), so it passes a budget one core short. The budget travels in an
/// async-local slot set for the duration of one pipeline call rather than as a parameter of every rule and kernel: the rules are
/// also called directly by attacks, the CLI and the simulator (which keep all cores), and the slot reaches the kernels three calls
/// deep through the <see cref="IAggregator"/> and <see cref="IPreAggregator"/> interfaces without changing them.
/// </remarks>
public static class AggregationParallelism
{
    private static readonly ParallelOptions Unlimited = new();
    private static readonly AsyncLocal<ParallelOptions?> Budget = new();

    /// <summary>The options the current aggregation call passes to <see cref="Parallel"/>.</summary>
    public static ParallelOptions Current => Budget.Value ?? Unlimited;

    /// <summary>Applies <paramref name="options"/> (null: unlimited) to every parallel loop of this library until the result is disposed.</summary>
    public static IDisposable Use(ParallelOptions? options)
    {
        var previous = Budget.Value;
        Budget.Value = options;
        return new Restore(previous);
    }

    private sealed class Restore(ParallelOptions? previous) : IDisposable
    {
        public void Dispose() => Budget.Value = previous;
    }
}
