namespace Hivemind.Protocol.Tensors;

/// <summary>A named float32 tensor held on the CPU: the unit that shards, updates and checkpoints are made of.</summary>
public sealed class NamedTensor
{
    public NamedTensor(string name, long[] shape, float[] values)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(values);
        long count = ElementCount(shape);
        if (count != values.Length)
            throw new ArgumentException($"tensor '{name}' has shape [{string.Join(", ", shape)}] ({count} elements) but {values.Length} values were given.", nameof(values));
        Name = name;
        Shape = shape;
        Values = values;
    }

    /// <summary>Stable parameter name, e.g. <c>blocks.3.moe.experts.17.w1</c>.</summary>
    public string Name { get; }

    public long[] Shape { get; }

    /// <summary>Row-major values; length is the product of <see cref="Shape"/>.</summary>
    public float[] Values { get; }

    public long Count => Values.Length;

    public NamedTensor Clone() => new(Name, (long[])Shape.Clone(), (float[])Values.Clone());

    public bool SameShape(long[] other) => Shape.AsSpan().SequenceEqual(other);

    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long dim in shape)
        {
            if (dim < 0) throw new ArgumentException($"negative dimension {dim} in a tensor shape.");
            count = checked(count * dim);
        }
        return count;
    }
}
