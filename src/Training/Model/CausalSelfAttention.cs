using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>
/// Multi-head causal self-attention with a fused qkv projection, no biases. A local layer (GPT-Neo's
/// alternation, see <see cref="ModelConfig.LocalAttentionWindow"/>) attends only to the last W positions.
/// </summary>
internal sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear _qkv;
    private readonly Linear _proj;
    private readonly int _heads;
    private readonly int _window;

    public CausalSelfAttention(ModelConfig config, int layer) : base(nameof(CausalSelfAttention))
    {
        _heads = config.Heads;
        _window = config.IsLocalAttentionLayer(layer) ? config.LocalAttentionWindow : 0;
        _qkv = nn.Linear(config.Width, 3L * config.Width, hasBias: false);
        _proj = nn.Linear(config.Width, config.Width, hasBias: false);
        register_module("qkv", _qkv);
        register_module("proj", _proj);
    }

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var qkv = _qkv.forward(x).view(b, t, 3, _heads, d / _heads).permute(2, 0, 3, 1, 4);
        var parts = qkv.unbind(0);
        var y = _window > 0 && t > _window
            ? nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2], attn_mask: LocalMask(t, _window, x.device))
            : nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2], is_casual: true);
        return _proj.forward(y.transpose(1, 2).reshape(b, t, d));
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
