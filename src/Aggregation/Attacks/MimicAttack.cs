namespace Hivemind.Aggregation.Attacks;

/// <summary>Mimic (Karimireddy et al. 2022): every attacker copies honest update <c>target</c>, over-weighting one worker.</summary>
public sealed class MimicAttack(int target = 0) : IAttack
{
    public string Name => $"mimic(target={target})";

    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        HonestStatistics.Length(honest, f, Name);
        if (target < 0 || target >= honest.Count)
        {
            throw new ArgumentException($"mimic: target={target} but there are {honest.Count} honest updates; use 0..{honest.Count - 1}.");
        }

        return HonestStatistics.Repeat(honest[target].ToArray(), f);
    }
}
