namespace Hivemind.Training;

/// <summary>The names and shapes of a model's (or a shard's) parameters, in one place for init, modules and checks.</summary>
public static class ParameterLayout
{
    private const double BaseStd = 0.02;

    /// <summary>Every parameter of <paramref name="config"/> that <paramref name="shard"/> holds (all of them when null).</summary>
    public static IReadOnlyList<ParameterInfo> Describe(ModelConfig config, ShardSpec? shard = null)
    {
        config.Validate();
        long d = config.Width;
        // GPT-2: residual projections are scaled down so the residual stream's variance does not grow with depth.
        double residualStd = BaseStd / Math.Sqrt(2.0 * config.Layers);
        var list = new List<ParameterInfo>
        {
            new(ParameterNames.TokenEmbedding, [config.VocabSize, d], ParameterInit.Normal, BaseStd),
            new(ParameterNames.PositionEmbedding, [config.ContextLength, d], ParameterInit.Normal, BaseStd),
        };
        for (int l = 0; l < config.Layers; l++)
        {
            list.Add(new(ParameterNames.Block(l, "ln1.weight"), [d], ParameterInit.Ones));
            list.Add(new(ParameterNames.Block(l, "ln1.bias"), [d], ParameterInit.Zeros));
            list.Add(new(ParameterNames.Block(l, "attn.qkv.weight"), [3 * d, d], ParameterInit.Normal, BaseStd));
            list.Add(new(ParameterNames.Block(l, "attn.proj.weight"), [d, d], ParameterInit.Normal, residualStd));
            list.Add(new(ParameterNames.Block(l, "ln2.weight"), [d], ParameterInit.Ones));
            list.Add(new(ParameterNames.Block(l, "ln2.bias"), [d], ParameterInit.Zeros));
            if (config.Dense)
            {
                list.Add(new(ParameterNames.Block(l, "mlp.w1"), [config.DenseHidden, d], ParameterInit.Normal, BaseStd));
                list.Add(new(ParameterNames.Block(l, "mlp.w2"), [d, config.DenseHidden], ParameterInit.Normal, residualStd));
                continue;
            }
            list.Add(new(ParameterNames.Block(l, "moe.gate.weight"), [config.Experts, d], ParameterInit.Normal, BaseStd));
            for (int e = 0; e < config.Experts; e++)
            {
                var id = new ExpertId(l, e);
                if (shard is not null && !shard.HoldsExpert(id)) continue;
                list.Add(new(ParameterNames.Expert(id, "w1"), [config.ExpertHidden, d], ParameterInit.Normal, BaseStd));
                list.Add(new(ParameterNames.Expert(id, "w2"), [d, config.ExpertHidden], ParameterInit.Normal, residualStd));
            }
        }
        list.Add(new(ParameterNames.FinalNormWeight, [d], ParameterInit.Ones));
        list.Add(new(ParameterNames.FinalNormBias, [d], ParameterInit.Zeros));
        list.Add(new(ParameterNames.Head, [config.VocabSize, d], ParameterInit.Normal, BaseStd));
        return list;
    }

    /// <summary>Throws if <paramref name="p"/> does not have exactly the tensors and shapes of the layout, naming the first difference.</summary>
    public static void Check(Hivemind.Protocol.Tensors.ParameterSet p, ModelConfig config, ShardSpec? shard, string what)
    {
        var layout = Describe(config, shard);
        foreach (var info in layout)
        {
            if (!p.TryGet(info.Name, out var t))
                throw new ArgumentException($"{what} lacks tensor '{info.Name}' of model '{config.Name}'; pass the parameters of this model and shard.");
            if (!t.SameShape(info.Shape))
                throw new ArgumentException($"{what}: tensor '{info.Name}' has shape [{string.Join(", ", t.Shape)}] but model '{config.Name}' expects [{string.Join(", ", info.Shape)}].");
        }
        if (p.Count != layout.Count)
        {
            var known = layout.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
            var extra = p.Names.First(n => !known.Contains(n));
            throw new ArgumentException($"{what} has tensor '{extra}', which model '{config.Name}' with this shard does not hold; extract the shard first (Shards.Extract).");
        }
    }
}
