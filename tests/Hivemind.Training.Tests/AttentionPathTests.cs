using static TorchSharp.torch;

namespace Hivemind.Training.Tests;

/// <summary>Attention as plain matmuls (small score matrices) and through libtorch's fused kernel (large ones) agree.</summary>
public sealed class AttentionPathTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void MatmulAndFusedAttentionGiveTheSameOutputAndGradients(int window)
    {
        TestTorch.Use();
        using var scope = NewDisposeScope();
        var config = ModelConfig.Preset("tiny") with { LocalAttentionWindow = window };
        using var matmul = new CausalSelfAttention(config, layer: 1);
        using var fused = new CausalSelfAttention(config, layer: 1) { MaxMatmulScores = 0 };
        var generator = new Generator(21);
        using (no_grad())
        {
            foreach (var (a, b) in matmul.parameters().Zip(fused.parameters()))
            {
                a.copy_(randn(a.shape, generator: generator));
                b.copy_(a);
            }
        }
        var x = randn([3, 24, config.Width], generator: generator);

        var (yMatmul, gMatmul) = OutputAndGradients(matmul, x);
        var (yFused, gFused) = OutputAndGradients(fused, x);

        Assert.True(yMatmul.abs().max().item<float>() > 1, "outputs too small for the comparison to mean anything");
        Assert.True(yMatmul.allclose(yFused, rtol: 1e-4, atol: 1e-4), $"outputs differ by {(yMatmul - yFused).abs().max().item<float>()}");
        foreach (var (a, b) in gMatmul.Zip(gFused))
        {
            // Relative to the gradient's scale: float32 sums of large terms in a different order.
            double scale = a.abs().max().item<float>(), diff = (a - b).abs().max().item<float>();
            Assert.True(diff <= 1e-4 * scale, $"gradients differ by {diff} at scale {scale}");
        }
    }

    [Fact]
    public void SmallPresetUsesMatmulsAndBaseTheFusedKernel()
    {
        Assert.True(8L * 4 * 256 * 256 <= CausalSelfAttention.MatmulAttentionMaxScores, "small (batch 8 × seq 256) should take the matmul path");
        Assert.True(4L * 12 * 512 * 512 > CausalSelfAttention.MatmulAttentionMaxScores, "base (batch 4 × seq 512) should take the fused kernel");
    }

    private static (Tensor Output, Tensor[] Gradients) OutputAndGradients(CausalSelfAttention attention, Tensor x)
    {
        var input = x.clone().requires_grad_(true);
        var y = attention.forward(input);
        Tensor[] inputs = [input, .. attention.parameters()];
        var grads = autograd.grad([y.pow(2).sum()], inputs);
        return (y.detach(), [.. grads]);
    }
}
