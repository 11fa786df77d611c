namespace Hivemind.Training;

/// <summary>One expert of one MoE layer.</summary>
public readonly record struct ExpertId(int Layer, int Expert) : IComparable<ExpertId>
{
    public int CompareTo(ExpertId other) => Layer != other.Layer ? Layer.CompareTo(other.Layer) : Expert.CompareTo(other.Expert);

    public override string ToString() => $"L{Layer}E{Expert}";
}
