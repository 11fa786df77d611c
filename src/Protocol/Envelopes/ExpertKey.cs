using MessagePack;

namespace Hivemind.Protocol.Envelopes;

/// <summary>One expert of one MoE layer, as listed in a shard.</summary>
[MessagePackObject]
public readonly record struct ExpertKey : IComparable<ExpertKey>
{
    [SerializationConstructor]
    public ExpertKey(int layer, int expert)
    {
        if (layer < 0) throw new ArgumentOutOfRangeException(nameof(layer), layer, "an MoE layer index is never negative.");
        if (expert < 0) throw new ArgumentOutOfRangeException(nameof(expert), expert, "an expert index is never negative.");
        Layer = layer;
        Expert = expert;
    }

    [Key(0)]
    public int Layer { get; }

    [Key(1)]
    public int Expert { get; }

    public int CompareTo(ExpertKey other) => Layer != other.Layer ? Layer.CompareTo(other.Layer) : Expert.CompareTo(other.Expert);

    public override string ToString() => $"{Layer}/{Expert}";
}
