using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training.Tests;

/// <summary>The sorted, capacity-limited MoE dispatch: drops exactly what the capacity says, counts it, and keeps gradients flowing.</summary>
public sealed class MoeDispatchTests
{
    private const int Batch = 4;
    private const int Seq = 64;

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.8)]
    public void CapacityDropsExactlyTheOverflowAndCountsIt(double capacityFactor)
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny") with { CapacityFactor = capacityFactor };
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), ModelInit.Initialize(config, 7));
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
            model.forward(tensor(Tokens(3), [Batch, Seq]));

        long capacity = config.ExpertCapacity(Batch * Seq);
        var load = model.ExpertLoad();
        var dropped = model.DroppedAssignments();
        for (int l = 0; l < config.Layers; l++)
            Assert.Equal(load[l].Sum(c => Math.Max(0, c - capacity)), dropped[l]);
        // Below the balanced share some expert must overflow: the test cannot pass by dropping nothing.
        Assert.True(dropped.Sum() > 0, $"capacity {capacity} dropped nothing; loads [{string.Join(" | ", load.Select(l => string.Join(", ", l)))}]");
    }

    [Fact]
    public void DefaultCapacityNeverDropsAndMatchesANonBindingCapacity()
    {
        TestTorch.Use();
        var unlimited = ModelConfig.Preset("tiny");
        // Capacity of the whole batch: it cannot bind (top-k picks distinct experts), so the output must be identical.
        var roomy = unlimited with { CapacityFactor = (double)unlimited.Experts / unlimited.TopK };
        var parameters = ModelInit.Initialize(unlimited, 8);
        var a = Logits(unlimited, parameters, out var droppedA);
        var b = Logits(roomy, parameters, out var droppedB);
        Assert.All(droppedA.Concat(droppedB), d => Assert.Equal(0, d));
        Assert.Equal(a, b);
    }

    [Fact]
    public void DroppedTokensChangeTheOutputButStayFinite()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny");
        var parameters = ModelInit.Initialize(config, 9);
        var full = Logits(config, parameters, out _);
        var tight = Logits(config with { CapacityFactor = 0.25 }, parameters, out var dropped);
        Assert.True(dropped.Sum() > 0);
        Assert.All(tight, v => Assert.True(float.IsFinite(v)));
        Assert.True(full.Zip(tight).Max(p => Math.Abs(p.First - p.Second)) > 0, "dropping assignments did not change any logit");
    }

    [Fact]
    public void EveryExpertThatGetsTokensAndTheRouterGetGradients()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny") with { CapacityFactor = 1.0 };
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), ModelInit.Initialize(config, 10));
        using var scope = NewDisposeScope();
        var (logits, balance) = model.ForwardWithBalance(tensor(Tokens(5), [Batch, Seq]));
        using Scalar one = 1;
        logits.square().mean().add(balance, one).backward();
        var load = model.ExpertLoad();
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.True(p.grad is not null, $"{name} has no gradient");
            double norm = p.grad!.norm().item<float>();
            if (name.Contains(".experts.", StringComparison.Ordinal))
            {
                // Parameter names are blocks.{layer}.moe.experts.{expert}.w1/w2.
                var parts = name.Split('.');
                long routed = load[int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)][int.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture)];
                Assert.True(routed == 0 || norm > 0, $"{name} received {routed} assignments but no gradient");
            }
            else if (name.EndsWith("moe.gate.weight", StringComparison.Ordinal)) Assert.True(norm > 0, $"router {name} gets no gradient");
        }
    }

    [Fact]
    public void TheDispatchIsDeterministic()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny") with { CapacityFactor = 0.75 };
        var parameters = ModelInit.Initialize(config, 11);
        Assert.Equal(Logits(config, parameters, out _), Logits(config, parameters, out _));
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void BadCapacityFactorIsNamed(double capacityFactor)
    {
        var e = Assert.Throws<ArgumentException>(() => (ModelConfig.Preset("tiny") with { CapacityFactor = capacityFactor }).Validate());
        Assert.Contains("CapacityFactor", e.Message);
        Assert.Contains("use 0 for unlimited", e.Message);
    }

    [Fact]
    public void CapacityIsTheRoundedUpShareAndUnlimitedByDefault()
    {
        var tiny = ModelConfig.Preset("tiny"); // 4 experts, top-2
        Assert.Equal(256, tiny.ExpertCapacity(256));
        Assert.Equal(160, (tiny with { CapacityFactor = 1.25 }).ExpertCapacity(256)); // 1.25 × 256 × 2 / 4
        Assert.Equal(1, (tiny with { CapacityFactor = 0.001 }).ExpertCapacity(256));
        Assert.Equal(256, (tiny with { CapacityFactor = 10 }).ExpertCapacity(256));
    }

    private static long[] Tokens(int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, Batch * Seq).Select(_ => (long)rng.Next(ModelConfig.ByteVocabSize))];
    }

    private static float[] Logits(ModelConfig config, Hivemind.Protocol.Tensors.ParameterSet parameters, out long[] dropped)
    {
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), parameters);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(tensor(Tokens(1), [Batch, Seq])).data<float>().ToArray();
        dropped = model.DroppedAssignments();
        return logits;
    }
}
