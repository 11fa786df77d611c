namespace Hivemind.Aggregation.Attacks;

/// <summary>Every attacker sends a constant vector: zero (a free rider), NaN or +Inf (broken or hostile clients).</summary>
public sealed class ConstantAttack(string name, float value) : IAttack
{
    public string Name { get; } = name;

    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        int d = HonestStatistics.Length(honest, f, Name);
        var result = new float[f][];
        for (int k = 0; k < f; k++)
        {
            result[k] = new float[d];
            Array.Fill(result[k], value);
        }

        return result;
    }
}
