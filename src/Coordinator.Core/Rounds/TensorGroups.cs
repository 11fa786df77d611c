using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// The units of aggregation: the trunk (every non-expert tensor, updated by all accepted updates) and one
/// group per (layer, expert), updated by the volunteers that held it. Each group flattens to one vector.
/// </summary>
public sealed class TensorGroups
{
    /// <summary>Group key of the trunk.</summary>
    public const string Trunk = "trunk";

    private readonly Dictionary<string, string[]> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);

    public TensorGroups(ParameterSet global)
    {
        var byGroup = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var t in global)
        {
            string key = KeyOf(t.Name);
            if (!byGroup.TryGetValue(key, out var list)) byGroup[key] = list = [];
            list.Add(t.Name);
            _shapes[t.Name] = t.Shape;
        }
        foreach (var (key, list) in byGroup) _names[key] = [.. list];
    }

    public IEnumerable<string> Keys => _names.Keys;

    public IReadOnlyList<string> NamesOf(string key) => _names[key];

    public static string KeyOf(string parameterName) =>
        ParameterNames.TryParseExpert(parameterName, out var id) ? ExpertKey(id) : Trunk;

    public static string ExpertKey(ExpertId id) => $"expert.{id.Layer}.{id.Expert}";

    public long[] ShapeOf(string name) => _shapes[name];

    /// <summary>Tensor names a shard's update must carry: the trunk plus the held experts, in ordinal order.</summary>
    public IReadOnlyList<string> NamesFor(ShardSpec shard) =>
        [.. _names.Where(g => g.Key == Trunk || shard.Experts.Any(e => ExpertKey(e) == g.Key)).SelectMany(g => g.Value).Order(StringComparer.Ordinal)];

    public long Length(string key) => _names[key].Sum(n => NamedTensor.ElementCount(_shapes[n]));

    /// <summary>The group's tensors of <paramref name="update"/>, concatenated in name order.</summary>
    public float[] Flatten(string key, ParameterSet update)
    {
        var vector = new float[Length(key)];
        int at = 0;
        foreach (var name in _names[key])
        {
            var values = update[name].Values;
            values.CopyTo(vector, at);
            at += values.Length;
        }
        return vector;
    }

    /// <summary>Splits a group vector back into named tensors.</summary>
    public IEnumerable<NamedTensor> Unflatten(string key, float[] vector)
    {
        int at = 0;
        foreach (var name in _names[key])
        {
            var shape = _shapes[name];
            int count = (int)NamedTensor.ElementCount(shape);
            yield return new NamedTensor(name, shape, vector.AsSpan(at, count).ToArray());
            at += count;
        }
    }
}
