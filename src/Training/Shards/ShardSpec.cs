namespace Hivemind.Training;

/// <summary>What a volunteer holds: the whole trunk plus these experts.</summary>
public sealed record ShardSpec
{
    private readonly HashSet<ExpertId> _set;

    public ShardSpec(IReadOnlyList<ExpertId> experts)
    {
        ArgumentNullException.ThrowIfNull(experts);
        _set = [.. experts];
        if (_set.Count != experts.Count)
            throw new ArgumentException($"shard lists an expert twice: {string.Join(", ", experts.GroupBy(e => e).Where(g => g.Count() > 1).Select(g => g.Key))}.", nameof(experts));
        Experts = [.. _set.Order()];
    }

    /// <summary>Experts held, sorted by (layer, expert).</summary>
    public IReadOnlyList<ExpertId> Experts { get; }

    /// <summary>Every expert of every layer: the whole model.</summary>
    public static ShardSpec Full(ModelConfig config)
    {
        if (config.Dense) return new ShardSpec([]);
        var all = new List<ExpertId>(config.Layers * config.Experts);
        for (int l = 0; l < config.Layers; l++)
            for (int e = 0; e < config.Experts; e++)
                all.Add(new ExpertId(l, e));
        return new ShardSpec(all);
    }

    public bool HoldsExpert(ExpertId id) => _set.Contains(id);

    /// <summary>True for trunk tensors and for tensors of held experts.</summary>
    public bool Holds(string paramName) => !ParameterNames.TryParseExpert(paramName, out var id) || _set.Contains(id);

    /// <summary>Held expert indices of one layer, ascending.</summary>
    public IReadOnlyList<int> ExpertsOf(int layer) => [.. Experts.Where(e => e.Layer == layer).Select(e => e.Expert)];

    /// <summary>Checks the shard against a model: ids in range and at least k experts per MoE layer, so routing is possible.</summary>
    public void Validate(ModelConfig config)
    {
        if (config.Dense)
        {
            if (Experts.Count > 0)
                throw new ArgumentException($"shard holds {Experts.Count} experts but model '{config.Name}' is dense; use ShardSpec.Full(config), which is empty for dense models.");
            return;
        }
        foreach (var id in Experts)
            if (id.Layer < 0 || id.Layer >= config.Layers || id.Expert < 0 || id.Expert >= config.Experts)
                throw new ArgumentException($"shard holds expert {id} but model '{config.Name}' has layers 0..{config.Layers - 1} and experts 0..{config.Experts - 1}.");
        for (int l = 0; l < config.Layers; l++)
        {
            int held = _set.Count(e => e.Layer == l);
            if (held < config.TopK)
                throw new ArgumentException($"shard holds {held} experts in layer {l} but tokens are routed to TopK={config.TopK}; give every layer at least {config.TopK} experts.");
        }
    }

    /// <summary>Parameters a volunteer holding this shard stores: it grows with the shard, not with the model.</summary>
    public long ParameterCount(ModelConfig config) => config.TrunkParameters + Experts.Count * config.ParametersPerExpert;

    public bool Equals(ShardSpec? other) => other is not null && Experts.SequenceEqual(other.Experts);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var e in Experts) hash.Add(e);
        return hash.ToHashCode();
    }
}
