using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>
/// Multi-head causal self-attention with a fused qkv projection, no biases. A local layer (GPT-Neo's
/// alternation, see <see cref="ModelConfig.LocalAttentionWindow"/>) attends only to the last W positions. Not thread-safe
/// (it caches its mask), like every module here: one training or evaluation thread per model.
/// </summary>
internal sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear _qkv;
    private readonly Linear _proj;
    private readonly int _heads;
    private readonly int _window;
    private Tensor? _bias;
    private long _biasLength;

    public CausalSelfAttention(ModelConfig config, int layer) : base(nameof(CausalSelfAttention))
    {
        _heads = config.Heads;
        _window = config.IsLocalAttentionLayer(layer) ? config.LocalAttentionWindow : 0;
        _qkv = nn.Linear(config.Width, 3L * config.Width, hasBias: false);
        _proj = nn.Linear(config.Width, config.Width, hasBias: false);
        register_module("qkv", _qkv);
        register_module("proj", _proj);
    }

    /// <summary>Most scores (batch × heads × t × t floats, 16 MiB) for which attention runs as plain matmuls; above it, libtorch's fused kernel.</summary>
    internal const long MatmulAttentionMaxScores = 1L << 22;

    /// <summary>This module's limit, <see cref="MatmulAttentionMaxScores"/> unless a test sets it (0: always the fused kernel).</summary>
    internal long MaxMatmulScores { get; set; } = MatmulAttentionMaxScores;

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], t = x.shape[1], d = x.shape[2], hd = d / _heads;
        var qkv = _qkv.forward(x).view(b, t, 3, _heads, hd).permute(2, 0, 3, 1, 4);
        var parts = qkv.unbind(0);
        if (b * _heads * t * t > MaxMatmulScores)
        {
            // Large score matrices (`base`: 48 × 512 × 512 floats, 50 MB, several per layer with the softmax and the
            // gradients) would be fresh pages every step; the fused kernel never makes them.
            var fused = _window > 0 && t > _window
                ? nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2], attn_mask: LocalMask(t, _window, x.device))
                : nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2], is_casual: true);
            return _proj.forward(fused.transpose(1, 2).reshape(b, t, d));
        }
        // Small score matrices: plain batched matmuls, not scaled_dot_product_attention. At `small`'s shapes (256 positions,
        // head width 64) libtorch 2.10's CPU flash kernel ran forward + backward at 26% of the sgemm rate against 35% here,
        // although this computes the masked half of the scores too (docs/benchmarks/training.md, session 10). The scale and
        // the causal (or local) mask are folded into one baddbmm: scores = bias + (1/√hd)·q·kᵀ, the bias 0 where a query may
        // attend and -inf elsewhere.
        var q = parts[0].reshape(b * _heads, t, hd);
        var k = parts[1].reshape(b * _heads, t, hd);
        var v = parts[2].reshape(b * _heads, t, hd);
        // TorchSharp's binding: batch1.baddbmm(batch2, input, beta, alpha) is input·beta + alpha·batch1·batch2 (floats, no Scalar).
        var scores = q.baddbmm(k.transpose(1, 2), Bias(t, x.device), 1f, (float)(1.0 / Math.Sqrt(hd)));
        var y = scores.softmax(-1).bmm(v);
        return _proj.forward(y.view(b, _heads, t, hd).transpose(1, 2).reshape(b, t, d));
    }

    /// <summary>The additive attention bias [t, t] (0 allowed, -inf masked), made once per length and device and kept.</summary>
    private Tensor Bias(long t, Device device)
    {
        if (_bias is { } cached && _biasLength == t && cached.device.type == device.type && cached.device.index == device.index)
            return cached;
        _bias?.Dispose();
        using var scope = NewDisposeScope();
        using var scalars = new ScalarScope();
        var allowed = _window > 0 && t > _window ? LocalMask(t, _window, device) : LocalMask(t, (int)Math.Min(int.MaxValue, t), device);
        var bias = zeros(t, t, ScalarType.Float32, device: device).masked_fill_(allowed.logical_not(), scalars.Of(double.NegativeInfinity));
        _bias = bias.DetachFromDisposeScope();
        _biasLength = t;
        return _bias;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _bias?.Dispose();
            _bias = null;
        }
        base.Dispose(disposing);
    }

    /// <summary>True where query i may attend to key j: j ≤ i and i − j &lt; window (GPT-Neo's local bias).</summary>
    internal static Tensor LocalMask(long t, int window, Device device)
    {
        using var all = ones(t, t, dtype: ScalarType.Bool, device: device);
        using var causal = all.tril();
        using var tooFar = all.tril(-window);
        return causal.logical_and(tooFar.logical_not());
    }
}
