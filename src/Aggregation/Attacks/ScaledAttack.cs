using System.Numerics.Tensors;

namespace Hivemind.Aggregation.Attacks;

/// <summary>Scaled (boosting): every attacker sends factor·mean(honest); a negative factor is a boosted sign flip.</summary>
public sealed class ScaledAttack(double factor) : IAttack
{
    public string Name => $"scaled(factor={factor:R})";

    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        HonestStatistics.Length(honest, f, Name);
        float[] mean = HonestStatistics.Mean(honest);
        TensorPrimitives.Multiply(mean, (float)factor, mean);
        return HonestStatistics.Repeat(mean, f);
    }
}
