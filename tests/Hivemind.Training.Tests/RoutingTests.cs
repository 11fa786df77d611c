using Hivemind.Protocol.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training.Tests;

/// <summary>The router of a shard's local model never sends a token to an expert the shard lacks.</summary>
public sealed class RoutingTests
{
    [Fact]
    public void MaskedModelNeverRoutesToAbsentExpertEvenWhenTheGatePrefersIt()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny");
        var shard = new ShardSpec([new(0, 1), new(0, 3), new(1, 0), new(1, 2)]);
        var parameters = ModelInit.Initialize(config, 5, shard);
        // Make the gate love the absent experts: their rows get a large weight along every direction.
        for (int l = 0; l < config.Layers; l++)
        {
            var gate = parameters[ParameterNames.Block(l, "moe.gate.weight")];
            for (int e = 0; e < config.Experts; e++)
                if (!shard.HoldsExpert(new ExpertId(l, e)))
                    for (int j = 0; j < config.Width; j++) gate.Values[e * config.Width + j] = 50f;
        }
        using var model = MoeTransformer.Create(config, shard, parameters);
        const int Batch = 8, Seq = 64;
        var rng = new Random(11);
        var tokens = Enumerable.Range(0, Batch * Seq).Select(_ => (long)rng.Next(256)).ToArray();
        using (var scope = NewDisposeScope())
        {
            var logits = model.forward(tensor(tokens, [Batch, Seq]));
            Assert.True(logits.isfinite().all().item<bool>());
        }
        var load = model.ExpertLoad();
        for (int l = 0; l < config.Layers; l++)
        {
            for (int e = 0; e < config.Experts; e++)
                if (!shard.HoldsExpert(new ExpertId(l, e))) Assert.Equal(0, load[l][e]);
            Assert.Equal((long)Batch * Seq * config.TopK, load[l].Sum());
        }
    }

    [Fact]
    public void FullModelUsesEveryExpert()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny");
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), ModelInit.Initialize(config, 5));
        var rng = new Random(12);
        var tokens = Enumerable.Range(0, 8 * 64).Select(_ => (long)rng.Next(256)).ToArray();
        using (var scope = NewDisposeScope()) model.forward(tensor(tokens, [8, 64]));
        // A random router spreads 1024 assignments over 4 experts; none is starved (fails if routing ignores experts).
        Assert.All(model.ExpertLoad().SelectMany(l => l), count => Assert.True(count > 0));
    }
}
