namespace Hivemind.Simulations.Faithful;

/// <summary>One labelled faithful run of an experiment: the values of its axes and what it measured.</summary>
/// <param name="Axes">Axis name → value, in column order.</param>
/// <param name="Result">The run's measurements.</param>
public sealed record FaithfulRun(IReadOnlyList<(string Axis, string Value)> Axes, FaithfulResult Result)
{
    /// <summary>The axis that repeats a cell with another seed; every run has it, last.</summary>
    public const string SeedAxis = "seed";

    /// <summary>The axes that name the cell (every axis but the seed): runs with equal cells are repeats.</summary>
    public string Cell => string.Join(", ", Axes.Where(a => a.Axis != SeedAxis).Select(a => $"{a.Axis} {a.Value}"));

    /// <summary>Whether the run has <paramref name="axis"/>.</summary>
    public bool Has(string axis) => Axes.Any(a => a.Axis == axis);

    /// <summary>The value of <paramref name="axis"/>.</summary>
    public string this[string axis] => Axes.First(a => a.Axis == axis).Value;
}
