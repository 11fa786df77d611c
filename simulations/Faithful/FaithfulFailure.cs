namespace Hivemind.Simulations.Faithful;

/// <summary>A faithful run that stopped on a native (libtorch) error: which run it was and what the error said.</summary>
/// <param name="Axes">Axis name → value of the run, as in <see cref="FaithfulRun"/>.</param>
/// <param name="Error">The exception type and the first line of its message.</param>
public sealed record FaithfulFailure(IReadOnlyList<(string Axis, string Value)> Axes, string Error)
{
    /// <summary>The run's axes as one line, e.g. "aggregator mean, attack none, byzantine 0".</summary>
    public string Label => string.Join(", ", Axes.Select(a => $"{a.Axis} {a.Value}"));
}
