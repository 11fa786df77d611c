namespace Hivemind.Protocol.Tensors;

/// <summary>Name and shape of one tensor in a payload header.</summary>
public sealed record TensorDescriptor(string Name, long[] Shape)
{
    public long ElementCount => NamedTensor.ElementCount(Shape);

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
