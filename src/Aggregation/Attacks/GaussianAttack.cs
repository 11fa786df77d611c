using MathNet.Numerics.Distributions;

namespace Hivemind.Aggregation.Attacks;

/// <summary>Gaussian: each attacker sends independent N(mu, sigma²) noise per coordinate.</summary>
public sealed class GaussianAttack(double sigma, double mu = 0) : IAttack
{
    public string Name => mu == 0 ? $"gaussian(sigma={sigma:R})" : $"gaussian(sigma={sigma:R},mu={mu:R})";

    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        int d = HonestStatistics.Length(honest, f, Name);
        var result = new float[f][];
        var buffer = new double[d];
        for (int k = 0; k < f; k++)
        {
            Normal.Samples(rng, buffer, mu, sigma);
            result[k] = Array.ConvertAll(buffer, v => (float)v);
        }

        return result;
    }
}
