using Hivemind.Protocol.Tensors;

namespace Hivemind.Training;

/// <summary>Cuts a shard out of the global parameters and puts a shard's tensors back.</summary>
public static class Shards
{
    /// <summary>Copies of the trunk and of the shard's experts.</summary>
    public static ParameterSet Extract(ParameterSet global, ShardSpec shard)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(shard);
        var result = new ParameterSet(global.Where(shard.Holds).Select(t => t.Clone()));
        foreach (var id in shard.Experts)
            if (!result.Contains(ParameterNames.Expert(id, "w1")))
                throw new ArgumentException($"shard holds expert {id} but the global parameters have no tensor '{ParameterNames.Expert(id, "w1")}'; check the shard against the model configuration.");
        return result;
    }

    /// <summary>Replaces the global tensors named in <paramref name="shard"/> by copies; every name must exist with the same shape.</summary>
    public static void Insert(ParameterSet global, ParameterSet shard)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(shard);
        // Check everything first so that a bad shard changes nothing.
        foreach (var t in shard)
        {
            if (!global.TryGet(t.Name, out var g))
                throw new ArgumentException($"shard tensor '{t.Name}' is not a parameter of the global model; was the shard extracted from another model?");
            if (!g.SameShape(t.Shape))
                throw new ArgumentException($"shard tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}] but the global tensor has [{string.Join(", ", g.Shape)}].");
        }
        foreach (var t in shard) global.Set(t.Clone());
    }
}
