using Hivemind.Protocol.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>The byte-level causal transformer with MoE feed-forwards, built for a shard (or the whole model).</summary>
public sealed class MoeTransformer : nn.Module<Tensor, Tensor>
{
    private readonly Embedding _tokEmb;
    private readonly Embedding _posEmb;
    private readonly ModuleList<TransformerBlock> _blocks;
    private readonly LayerNorm _lnF;
    private readonly Linear _head;

    private MoeTransformer(ModelConfig config, ShardSpec shard) : base(nameof(MoeTransformer))
    {
        Config = config;
        Shard = shard;
        _tokEmb = nn.Embedding(config.VocabSize, config.Width);
        _posEmb = nn.Embedding(config.ContextLength, config.Width);
        _blocks = new ModuleList<TransformerBlock>();
        for (int l = 0; l < config.Layers; l++) _blocks.Add(new TransformerBlock(config, l, shard));
        _lnF = nn.LayerNorm(config.Width);
        _head = nn.Linear(config.Width, config.VocabSize, hasBias: false);
        // Registered by hand: these names are the checkpoint format shared with PyTorch (see ParameterLayout).
        register_module("tok_emb", _tokEmb);
        register_module("pos_emb", _posEmb);
        register_module("blocks", _blocks);
        register_module("ln_f", _lnF);
        register_module("head", _head);
    }

    public ModelConfig Config { get; }

    public ShardSpec Shard { get; }

    /// <summary>Builds the model for <paramref name="shard"/> and loads <paramref name="parameters"/>, which must match the shard exactly.</summary>
    public static MoeTransformer Create(ModelConfig config, ShardSpec shard, ParameterSet parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        TorchRuntime.EnsureLoaded();
        config.Validate();
        shard.Validate(config);
        ParameterLayout.Check(parameters, config, shard, "the parameters given to the model");
        var model = new MoeTransformer(config, shard);
        model.LoadParameters(parameters);
        return model;
    }

    /// <summary>Logits [batch, seq, VocabSize] for tokens [batch, seq].</summary>
    public override Tensor forward(Tensor tokens) => ForwardWithBalance(tokens).Logits;

    /// <summary>Logits and the mean load-balancing loss over MoE layers (0 for the dense variant).</summary>
    public (Tensor Logits, Tensor BalanceLoss) ForwardWithBalance(Tensor tokens)
    {
        var (hidden, balance) = ForwardHidden(tokens);
        return (_head.forward(hidden), balance);
    }

    /// <summary>The head's weight [VocabSize, Width]: logits are <c>hidden @ HeadWeightᵀ</c> (see <see cref="ChunkedCrossEntropy"/>).</summary>
    public Tensor HeadWeight => _head.weight!;

    /// <summary>Final hidden states [batch, seq, Width] (after the last layer norm, before the head) and the balance loss.</summary>
    public (Tensor Hidden, Tensor BalanceLoss) ForwardHidden(Tensor tokens)
    {
        long t = tokens.shape[1];
        if (t > Config.ContextLength)
            throw new ArgumentException($"sequence length {t} exceeds the context length {Config.ContextLength} of model '{Config.Name}'; use a shorter SeqLen.");
        // Every Scalar held (see ScalarScope): arange(t) and Tensor + Tensor would each build an unheld one.
        using var scalars = new ScalarScope();
        var positions = arange(ScalarScope.Zero, scalars.Of(t), ScalarScope.One, ScalarType.Int64, device: tokens.device);
        var x = _tokEmb.forward(tokens).add(_posEmb.forward(positions), ScalarScope.One);
        Tensor? balance = null;
        foreach (var block in _blocks)
        {
            x = block.forward(x);
            if (block.Moe?.LastBalanceLoss is { } b) balance = balance is null ? b : balance.add(b, ScalarScope.One);
        }
        var hidden = _lnF.forward(x);
        if (balance is null) return (hidden, zeros(1, ScalarType.Float32, device: tokens.device).squeeze());
        return (hidden, balance.div(scalars.Of((long)Config.Layers)));
    }

    /// <summary>Expert load per layer: (token, slot) assignments since the last <see cref="ResetExpertLoad"/>.</summary>
    public long[][] ExpertLoad() => [.. _blocks.Select(b => b.Moe is { } m ? (long[])m.Load.Clone() : [])];

    /// <summary>Assignments dropped per layer (expert over capacity) since the last <see cref="ResetExpertLoad"/>; all 0 with unlimited capacity.</summary>
    public long[] DroppedAssignments() => [.. _blocks.Select(b => b.Moe?.Dropped ?? 0)];

    public void ResetExpertLoad()
    {
        foreach (var b in _blocks)
        {
            if (b.Moe is not { } m) continue;
            Array.Clear(m.Load);
            m.Dropped = 0;
        }
    }

    /// <summary>Number of scalars the module holds: grows with the shard, not with the model.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>Copies of the current parameter values, by stable name.</summary>
    public ParameterSet ExportParameters()
    {
        using var scope = NewDisposeScope();
        var set = new ParameterSet();
        foreach (var (name, p) in named_parameters())
            set.Add(new NamedTensor(name, p.shape, DeviceTransfer.ToHostFloat32(p.detach())));
        return set;
    }

    /// <summary>Overwrites the parameters with <paramref name="values"/> (same names and shapes).</summary>
    public void LoadParameters(ParameterSet values)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            var v = values[name];
            if (!v.SameShape(p.shape))
                throw new ArgumentException($"tensor '{name}' has shape [{string.Join(", ", v.Shape)}] but the model expects [{string.Join(", ", p.shape)}].");
            p.copy_(DeviceTransfer.FromHost(v.Values, v.Shape, p.device));
        }
    }
}
