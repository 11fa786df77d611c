namespace Hivemind.Simulations.Faithful;

/// <summary>One labelled faithful run of an experiment: the values of its axes and what it measured.</summary>
/// <param name="Axes">Axis name → value, in column order.</param>
/// <param name="Result">The run's measurements.</param>
public sealed record FaithfulRun(IReadOnlyList<(string Axis, string Value)> Axes, FaithfulResult Result)
{
    /// <summary>The value of <paramref name="axis"/>.</summary>
    public string this[string axis] => Axes.First(a => a.Axis == axis).Value;
}
