namespace Hivemind.Aggregation;

/// <summary>An omniscient attacker: sees every honest update and crafts the f Byzantine ones.</summary>
public interface IAttack
{
    /// <summary>The attack's canonical spec, e.g. <c>alie(z=1.5)</c>.</summary>
    string Name { get; }

    /// <summary>Returns f vectors of the honest length; <paramref name="rng"/> is the only source of randomness.</summary>
    float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng);
}
