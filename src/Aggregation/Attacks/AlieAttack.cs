using System.Numerics.Tensors;
using MathNet.Numerics.Distributions;

namespace Hivemind.Aggregation.Attacks;

/// <summary>
/// A Little Is Enough (Baruch et al. 2019): every attacker sends mean − z·std, coordinate-wise.
/// Without a given z, z = Φ⁻¹((n − s)/n) with s = ⌊n/2 + 1⌋ − f and n = honest + f, the paper's
/// largest shift that still leaves the attackers inside the majority.
/// <para>
/// Difference from ByzFL, on purpose: ByzFL sends mean + z·σ with the population σ; this sends mean − z·σ
/// with the sample σ. The direction is a convention (the rules here are symmetric under a sign flip, so
/// it mirrors the attack without weakening it); pass a negative z for ByzFL's direction.
/// </para>
/// </summary>
public sealed class AlieAttack(double? z = null) : IAttack
{
    public string Name => z is null ? "alie" : $"alie(z={z:R})";

    /// <summary>The z Baruch et al. derive for n workers of which f are Byzantine.</summary>
    public static double ZFor(int n, int f)
    {
        int s = n / 2 + 1 - f;
        double p = (double)(n - s) / n;
        if (!(p > 0 && p < 1))
        {
            throw new ArgumentException($"alie: n={n}, f={f} gives s={s} and Φ⁻¹({p}), which is undefined; ALIE needs 0 < f < n/2+1 and s ≥ 1. Pass z explicitly, e.g. alie(z=1.5).");
        }

        return Normal.InvCDF(0, 1, p);
    }

    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        HonestStatistics.Length(honest, f, Name);
        double zUsed = z ?? ZFor(honest.Count + f, f);
        float[] mean = HonestStatistics.Mean(honest);
        float[] std = HonestStatistics.StandardDeviation(honest, mean);
        TensorPrimitives.MultiplyAdd(std, (float)-zUsed, mean, mean);
        return HonestStatistics.Repeat(mean, f);
    }
}
