using System.Numerics.Tensors;

namespace Hivemind.Aggregation.Attacks;

/// <summary>Sign flip: every attacker sends −mean(honest). Use <c>scaled(factor=-k)</c> for a boosted flip.</summary>
public sealed class SignFlipAttack : IAttack
{
    public string Name => "sign-flip";

    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        HonestStatistics.Length(honest, f, Name);
        float[] mean = HonestStatistics.Mean(honest);
        TensorPrimitives.Negate(mean, mean);
        return HonestStatistics.Repeat(mean, f);
    }
}
