using System.Numerics.Tensors;

namespace Hivemind.Protocol.Tensors;

/// <summary>
/// Where an eager (one-step-delayed) work unit starts: the shard's parameters at the unit's version minus the volunteer's own
/// accepted update to that version's round, decoded. The volunteer, the coordinator's spot checks and the simulator all call this
/// one function, so the start they compute is bit-identical (fp32, element by element).
/// </summary>
public static class EagerBase
{
    /// <summary>fp32(<paramref name="version"/> − <paramref name="ownUpdate"/>) for every tensor; the inputs are left unchanged.</summary>
    /// <exception cref="InvalidDataException">The update does not cover exactly the version's tensors with their shapes.</exception>
    public static ParameterSet Apply(ParameterSet version, ParameterSet ownUpdate)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(ownUpdate);
        if (version.Count != ownUpdate.Count)
            throw new InvalidDataException($"the eager base update has {ownUpdate.Count} tensors but the shard has {version.Count}; the unit's base must be an update of the same shard.");
        var start = new ParameterSet();
        foreach (var t in version)
        {
            if (!ownUpdate.TryGet(t.Name, out var delta) || !delta.SameShape(t.Shape))
                throw new InvalidDataException($"the eager base update lacks tensor '{t.Name}' with shape [{string.Join(", ", t.Shape)}]; the unit's base must be an update of the same shard.");
            var values = new float[t.Values.Length];
            TensorPrimitives.Subtract(t.Values, delta.Values, values);
            start.Add(new NamedTensor(t.Name, (long[])t.Shape.Clone(), values));
        }
        return start;
    }
}
