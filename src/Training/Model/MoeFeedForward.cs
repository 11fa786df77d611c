using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>Top-k softmax-gated mixture of experts; holds only a shard's experts and masks the router to them.</summary>
/// <remarks>
/// Dispatch is batched per expert: the (token, slot) assignments are sorted by expert, the tokens gathered
/// once, each expert runs on its contiguous slice, and one index_add scatters the weighted outputs back.
/// </remarks>
internal sealed class MoeFeedForward : nn.Module<Tensor, Tensor>
{
    private readonly Linear _gate;
    private readonly FeedForward?[] _byIndex;
    private readonly Tensor? _routerMask;
    private readonly int _experts;
    private readonly int _topK;
    private readonly int _layer;

    public MoeFeedForward(ModelConfig config, int layer, IReadOnlyList<int> heldExperts) : base(nameof(MoeFeedForward))
    {
        _experts = config.Experts;
        _topK = config.TopK;
        _layer = layer;
        _gate = nn.Linear(config.Width, config.Experts, hasBias: false);
        _byIndex = new FeedForward?[config.Experts];
        var dict = new ModuleDict<FeedForward>();
        foreach (int e in heldExperts)
        {
            _byIndex[e] = new FeedForward(config.Width, config.ExpertHidden);
            dict.Add((e.ToString(System.Globalization.CultureInfo.InvariantCulture), _byIndex[e]!));
        }
        register_module("gate", _gate);
        register_module("experts", dict);
        if (heldExperts.Count < config.Experts)
        {
            // Absent experts get -inf logits: top-k can never pick them and softmax gives them exactly 0.
            var mask = new float[config.Experts];
            Array.Fill(mask, float.NegativeInfinity);
            foreach (int e in heldExperts) mask[e] = 0f;
            _routerMask = tensor(mask).DetachFromDisposeScope();
        }
        Load = new long[config.Experts];
    }

    /// <summary>(token, slot) assignments per expert since the last reset: the expert load histogram.</summary>
    public long[] Load { get; }

    /// <summary>Switch-style load-balancing loss of the last forward: E · Σ_e f_e · P_e (1 when perfectly balanced).</summary>
    public Tensor? LastBalanceLoss { get; private set; }

    public override Tensor forward(Tensor x)
    {
        var shape = x.shape;
        var flat = x.reshape(-1, shape[^1]);
        long n = flat.shape[0];
        var logits = _gate.forward(flat);
        if (_routerMask is not null) logits = logits + _routerMask;
        var probs = logits.softmax(-1);
        // top-k on logits, not probabilities: -inf stays strictly below any held expert even if probabilities underflow.
        var (_, topIdx) = logits.topk(_topK, dim: -1);
        var topW = probs.gather(1, topIdx);
        var assignments = topIdx.reshape(-1);
        var counts = assignments.bincount(null, _experts);
        long[] perExpert = counts.data<long>().ToArray();
        for (int e = 0; e < _experts; e++) Load[e] += perExpert[e];

        // Explicit Scalars held by `using`: TorchSharp 0.107's tensor-with-number operators create a Scalar that the GC
        // may finalize while the native op still reads it ("Unknown scalar type", seen intermittently in tests).
        using Scalar perExpertShare = n * _topK;
        using Scalar experts = _experts;
        var fraction = counts.to_type(ScalarType.Float32).div(perExpertShare);
        LastBalanceLoss = (fraction * probs.mean([0])).sum().mul(experts);

        var order = assignments.argsort();
        var token = order.floor_divide(_topK);
        var weight = topW.reshape(-1).index_select(0, order).unsqueeze(1);
        var slices = flat.index_select(0, token).split(perExpert);
        var outputs = new List<Tensor>(_experts);
        for (int e = 0; e < _experts; e++)
        {
            if (perExpert[e] == 0) continue;
            var expert = _byIndex[e] ?? throw new InvalidOperationException(
                $"router of layer {_layer} sent {perExpert[e]} tokens to expert {e}, which this shard does not hold; the router mask is broken.");
            outputs.Add(expert.forward(slices[e]));
        }
        var mixed = cat(outputs, 0) * weight;
        return zeros_like(flat).index_add(0, token, mixed, 1).reshape(shape);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _routerMask?.Dispose();
        base.Dispose(disposing);
    }
}
