using Hivemind.Protocol.Tensors;

namespace Hivemind.Training.Tests;

/// <summary>Names parse, shards extract and insert exactly, and a shard's memory follows its size.</summary>
public sealed class ShardTests
{
    private static readonly ModelConfig Tiny = ModelConfig.Preset("tiny");

    private static ShardSpec TwoPerLayer() => new([new(0, 1), new(0, 3), new(1, 0), new(1, 2)]);

    [Fact]
    public void ExpertNamesParseAndTrunkNamesDoNot()
    {
        Assert.True(ParameterNames.TryParseExpert("blocks.3.moe.experts.17.w1", out var id));
        Assert.Equal(new ExpertId(3, 17), id);
        Assert.Equal("blocks.3.moe.experts.17.w1", ParameterNames.Expert(id, "w1"));
        foreach (var trunk in new[] { "blocks.3.moe.gate.weight", "tok_emb.weight", "blocks.x.moe.experts.1.w1", "blocks.1.moe.experts.2", "head.weight" })
            Assert.True(ParameterNames.IsTrunk(trunk), trunk);
    }

    [Fact]
    public void ExtractThenInsertRoundTripsExactly()
    {
        var global = ModelInit.Initialize(Tiny, seed: 7);
        var original = global.Clone();
        var shard = Shards.Extract(global, TwoPerLayer());
        Assert.Equal(ParameterLayout.Describe(Tiny, TwoPerLayer()).Select(p => p.Name).Order(StringComparer.Ordinal), shard.Names);

        // Changing the shard does not touch the global set until it is inserted.
        foreach (var t in shard) t.Values[0] = 42f;
        AssertBitwiseEqual(original, global);
        Shards.Insert(global, shard);
        foreach (var t in global)
            Assert.Equal(TwoPerLayer().Holds(t.Name) ? 42f : original[t.Name].Values[0], t.Values[0]);
        Shards.Insert(global, Shards.Extract(original, TwoPerLayer()));
        AssertBitwiseEqual(original, global);
    }

    [Fact]
    public void InsertRejectsForeignTensorsAndChangesNothing()
    {
        var global = ModelInit.Initialize(Tiny, seed: 7);
        var before = global.Clone();
        var bad = new ParameterSet([global["head.weight"].Clone(), new NamedTensor("blocks.0.moe.experts.9.w1", [1], [1f])]);
        var e = Assert.Throws<ArgumentException>(() => Shards.Insert(global, bad));
        Assert.Contains("blocks.0.moe.experts.9.w1", e.Message);
        AssertBitwiseEqual(before, global);
    }

    [Fact]
    public void InitializationIsDeterministicAndShardInitAgreesWithGlobal()
    {
        var a = ModelInit.Initialize(Tiny, seed: 3);
        AssertBitwiseEqual(a, ModelInit.Initialize(Tiny, seed: 3));
        AssertBitwiseEqual(Shards.Extract(a, TwoPerLayer()), ModelInit.Initialize(Tiny, seed: 3, TwoPerLayer()));
        Assert.NotEqual(a["head.weight"].Values, ModelInit.Initialize(Tiny, seed: 4)["head.weight"].Values);
        // Normal(0, 0.02): the sample std over 16384 head values is within 3% of 0.02 (measured 0.01988).
        var head = a["head.weight"].Values;
        double std = Math.Sqrt(head.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.0194, 0.0206);
    }

    [Fact]
    public void ModuleNamesMatchLayoutAndMemoryFollowsTheShard()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("small");
        var shard = new ShardSpec([.. Enumerable.Range(0, config.Layers).SelectMany(l => new ExpertId[] { new(l, 0), new(l, 5) })]);
        var parameters = ModelInit.Initialize(config, 1, shard);
        using var model = MoeTransformer.Create(config, shard, parameters);
        Assert.Equal(parameters.Names, model.ExportParameters().Names);
        Assert.Equal(shard.ParameterCount(config), model.ParameterCount());
        // small: the trunk (1.26M) plus 2 of 8 experts per layer is 3.36M of the 9.65M parameters.
        Assert.True(model.ParameterCount() < config.TotalParameters / 2, $"{model.ParameterCount()} vs {config.TotalParameters}");

        var dense = config.AsDense();
        using var denseModel = MoeTransformer.Create(dense, ShardSpec.Full(dense), ModelInit.Initialize(dense, 1));
        Assert.Equal(dense.TotalParameters, denseModel.ParameterCount());
    }

    [Fact]
    public void ShardWithTooFewExpertsInALayerIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new ShardSpec([new(0, 1), new(0, 2), new(1, 0)]).Validate(Tiny));
        Assert.Contains("holds 1 experts in layer 1", e.Message);
    }

    internal static void AssertBitwiseEqual(ParameterSet expected, ParameterSet actual)
    {
        Assert.Equal(expected.Names, actual.Names);
        foreach (var t in expected)
        {
            Assert.Equal(t.Shape, actual[t.Name].Shape);
            Assert.True(t.Values.AsSpan().SequenceEqual(actual[t.Name].Values), $"tensor {t.Name} differs");
        }
    }
}
