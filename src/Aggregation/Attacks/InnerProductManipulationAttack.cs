using System.Numerics.Tensors;

namespace Hivemind.Aggregation.Attacks;

/// <summary>Inner product manipulation (Xie et al. 2020): every attacker sends −ε·mean(honest).</summary>
public sealed class InnerProductManipulationAttack(double epsilon) : IAttack
{
    public string Name => $"ipm(eps={epsilon:R})";

    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        HonestStatistics.Length(honest, f, Name);
        float[] mean = HonestStatistics.Mean(honest);
        TensorPrimitives.Multiply(mean, (float)-epsilon, mean);
        return HonestStatistics.Repeat(mean, f);
    }
}
