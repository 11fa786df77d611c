using System.Collections;

namespace Hivemind.Protocol.Tensors;

/// <summary>A set of named tensors in ordinal name order: model parameters, a shard, or a pseudo-gradient.</summary>
public sealed class ParameterSet : IReadOnlyCollection<NamedTensor>
{
    private readonly SortedDictionary<string, NamedTensor> _tensors = new(StringComparer.Ordinal);

    public ParameterSet()
    {
    }

    public ParameterSet(IEnumerable<NamedTensor> tensors)
    {
        foreach (var t in tensors) Add(t);
    }

    public int Count => _tensors.Count;

    public IEnumerable<string> Names => _tensors.Keys;

    public long ElementCount => _tensors.Values.Sum(t => t.Count);

    public NamedTensor this[string name] =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"no tensor named '{name}' in this parameter set ({Count} tensors).");

    public bool TryGet(string name, out NamedTensor tensor) => _tensors.TryGetValue(name, out tensor!);

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public void Add(NamedTensor tensor)
    {
        if (!_tensors.TryAdd(tensor.Name, tensor))
            throw new ArgumentException($"tensor '{tensor.Name}' appears twice.", nameof(tensor));
    }

    /// <summary>Adds or replaces.</summary>
    public void Set(NamedTensor tensor) => _tensors[tensor.Name] = tensor;

    public ParameterSet Clone() => new(_tensors.Values.Select(t => t.Clone()));

    /// <summary>The tensors whose names <paramref name="keep"/> accepts (shared, not copied).</summary>
    public ParameterSet Where(Func<string, bool> keep) => new(_tensors.Values.Where(t => keep(t.Name)));

    /// <summary>All values concatenated in name order: the vector view that aggregators and attacks work on.</summary>
    public float[] Flatten()
    {
        var vector = new float[ElementCount];
        int at = 0;
        foreach (var t in _tensors.Values)
        {
            t.Values.CopyTo(vector, at);
            at += t.Values.Length;
        }
        return vector;
    }

    /// <summary>The same names and shapes holding the values of <paramref name="vector"/> (the inverse of <see cref="Flatten"/>).</summary>
    public ParameterSet WithValues(ReadOnlySpan<float> vector)
    {
        if (vector.Length != ElementCount)
            throw new ArgumentException($"a vector of {vector.Length} values cannot fill {Count} tensors of {ElementCount} values.", nameof(vector));
        var result = new ParameterSet();
        int at = 0;
        foreach (var t in _tensors.Values)
        {
            result.Add(new NamedTensor(t.Name, t.Shape, vector.Slice(at, t.Values.Length).ToArray()));
            at += t.Values.Length;
        }
        return result;
    }

    public IEnumerator<NamedTensor> GetEnumerator() => _tensors.Values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
