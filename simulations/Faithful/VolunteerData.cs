using Hivemind.Data;
using MathNet.Numerics.Distributions;

namespace Hivemind.Simulations.Faithful;

/// <summary>Heterogeneous data: each volunteer's domain mix, drawn from a symmetric Dirichlet(α) over the corpus domains.</summary>
public static class VolunteerData
{
    // Large odd multipliers spread (seed, slot, occupant) over the seed space; each volunteer's mix has its own stream,
    // so turning heterogeneity on does not shift any other draw of the run.
    private const long SeedMultiplier = 0x9E3779B1;
    private const long SlotMultiplier = 0x85EBCA77;

    /// <summary>Domains of the engine's synthetic corpus (its default configuration).</summary>
    public static int Domains { get; } = new SyntheticCorpusConfig(1).Domains;

    /// <summary>The domain mix of occupant <paramref name="generation"/> of <paramref name="slot"/>: Dirichlet(α, …, α).</summary>
    public static double[] Mix(double alpha, int seed, int slot, int generation)
    {
        if (!(alpha > 0) || double.IsInfinity(alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Dirichlet α must be a positive finite number, e.g. 0.1 (one domain each), 1 or 100 (nearly uniform).");
        }

        var rng = new Random(unchecked((int)(seed * SeedMultiplier ^ slot * SlotMultiplier ^ generation)));
        double[] mix = Dirichlet.Sample(rng, Enumerable.Repeat(alpha, Domains).ToArray());
        // Tiny α can underflow every Gamma draw to zero; then the volunteer has the one domain whose draw was largest.
        double sum = mix.Sum();
        if (!(sum > 0) || mix.Any(x => !double.IsFinite(x)))
        {
            return DomainMix.Single(Domains, rng.Next(Domains));
        }

        for (int d = 0; d < mix.Length; d++)
        {
            mix[d] /= sum;
        }

        return mix;
    }
}
