using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>Top-k softmax-gated mixture of experts; holds only a shard's experts and masks the router to them.</summary>
/// <remarks>
/// Dispatch (see <see cref="ExpertDispatch"/>): the (token, slot) assignments are sorted by expert once, the tokens gathered
/// into one buffer of contiguous per-expert blocks, each expert runs one pair of matmuls on its block (a grouped GEMM with
/// no padding, which on a CPU beats a padded bmm whose padding is wasted work), and one gather plus a k-wide batched
/// weighted sum brings the outputs back to their tokens. With a capacity factor, assignments past an expert's capacity
/// are dropped and counted.
/// </remarks>
internal sealed class MoeFeedForward : nn.Module<Tensor, Tensor>
{
    private readonly Linear _gate;
    private readonly FeedForward?[] _byIndex;
    private const string RouterMaskName = "router_mask";
    private readonly bool _masked;
    private readonly ModelConfig _config;
    private readonly int _layer;

    public MoeFeedForward(ModelConfig config, int layer, IReadOnlyList<int> heldExperts) : base(nameof(MoeFeedForward))
    {
        _config = config;
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
            // A buffer, not a field, so that moving the module to a device moves the mask with it (read back by name in
            // forward, since the move replaces the tensor); not persistent, so it stays out of the checkpoint format.
            register_buffer(RouterMaskName, tensor(mask).DetachFromDisposeScope(), persistent: false);
            _masked = true;
        }
        Load = new long[config.Experts];
    }

    /// <summary>(token, slot) assignments the router made per expert since the last reset: the expert load histogram.</summary>
    public long[] Load { get; }

    /// <summary>Assignments dropped since the last reset because their expert was full (always 0 with unlimited capacity).</summary>
    public long Dropped { get; set; }

    /// <summary>Switch-style load-balancing loss of the last forward: E · Σ_e f_e · P_e (1 when perfectly balanced).</summary>
    public Tensor? LastBalanceLoss { get; private set; }

    public override Tensor forward(Tensor x)
    {
        var shape = x.shape;
        var flat = x.reshape(-1, shape[^1]);
        long n = flat.shape[0];
        var logits = _gate.forward(flat);
        if (_masked)
        {
            // A held Scalar (ScalarScope.One): TorchSharp 0.107's number overloads create a Scalar that the GC may
            // finalize while the native op still reads it ("Unknown scalar type", seen intermittently in tests).
            logits = logits.add(get_buffer(RouterMaskName)!, ScalarScope.One);
        }
        var probs = logits.softmax(-1);
        // top-k on logits, not probabilities: -inf stays strictly below any held expert even if probabilities underflow.
        var (_, topIdx) = logits.topk(_config.TopK, dim: -1);
        var topW = probs.gather(1, topIdx);
        var dispatch = ExpertDispatch.Route(topIdx, _config.Experts, _config.ExpertCapacity(n));
        for (int e = 0; e < _config.Experts; e++) Load[e] += dispatch.Routed[e];
        Dropped += dispatch.Dropped;

        using var scalars = new ScalarScope();
        var assignments = scalars.Of(n * _config.TopK);
        var experts = scalars.Of((long)_config.Experts);
        var fraction = dispatch.RoutedCounts.to_type(ScalarType.Float32).div(assignments);
        LastBalanceLoss = fraction.mul(probs.mean([0])).sum().mul(experts);

        var blocks = dispatch.Gather(flat);
        var outputs = new List<Tensor>(_config.Experts);
        for (int e = 0; e < _config.Experts; e++)
        {
            if (dispatch.Kept[e] == 0) continue;
            var expert = _byIndex[e] ?? throw new InvalidOperationException(
                $"router of layer {_layer} sent {dispatch.Kept[e]} tokens to expert {e}, which this shard does not hold; the router mask is broken.");
            outputs.Add(expert.forward(blocks[e]));
        }
        return dispatch.Combine(outputs, topW).reshape(shape);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _masked) get_buffer(RouterMaskName)?.Dispose();
        base.Dispose(disposing);
    }
}
