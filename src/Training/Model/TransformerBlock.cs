using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>Pre-norm block: x + attn(ln1(x)), then + ffn(ln2(x)), where ffn is the MoE layer or the dense MLP.</summary>
internal sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm _ln1;
    private readonly CausalSelfAttention _attn;
    private readonly LayerNorm _ln2;
    private readonly nn.Module<Tensor, Tensor> _ffn;

    public TransformerBlock(ModelConfig config, int layer, ShardSpec shard) : base(nameof(TransformerBlock))
    {
        _ln1 = nn.LayerNorm(config.Width);
        _attn = new CausalSelfAttention(config, layer);
        _ln2 = nn.LayerNorm(config.Width);
        register_module("ln1", _ln1);
        register_module("attn", _attn);
        register_module("ln2", _ln2);
        if (config.Dense)
        {
            _ffn = new FeedForward(config.Width, config.DenseHidden);
            register_module("mlp", _ffn);
        }
        else
        {
            Moe = new MoeFeedForward(config, layer, shard.ExpertsOf(layer));
            _ffn = Moe;
            register_module("moe", _ffn);
        }
    }

    /// <summary>The MoE layer, or null in the dense variant.</summary>
    public MoeFeedForward? Moe { get; }

    public override Tensor forward(Tensor x)
    {
        // add(…, One), not `+`: TorchSharp's Tensor + Tensor makes an unheld Scalar alpha (see ScalarScope).
        x = x.add(_attn.forward(_ln1.forward(x)), ScalarScope.One);
        return x.add(_ffn.forward(_ln2.forward(x)), ScalarScope.One);
    }
}
