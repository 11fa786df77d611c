namespace Hivemind.Simulations.Scenarios;

/// <summary>"stragglers": a fraction of volunteers whose compute is slower by a factor (thermal limits, shared machines).</summary>
public sealed record StragglerSection
{
    /// <summary>Fraction of volunteers that straggle, in [0, 1].</summary>
    public double Fraction { get; init; }

    /// <summary>How many times slower a straggler computes (>= 1).</summary>
    public double Slowdown { get; init; } = 4;
}
