using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>A GELU feed-forward (w2 · gelu(w1 · x)), used both as one expert and as the dense variant's MLP.</summary>
internal sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Parameter _w1;
    private readonly TorchSharp.Modules.Parameter _w2;

    public FeedForward(long width, long hidden) : base(nameof(FeedForward))
    {
        _w1 = nn.Parameter(empty(hidden, width));
        _w2 = nn.Parameter(empty(width, hidden));
        // Registered by hand, not by RegisterComponents, because the names are part of the checkpoint format.
        register_parameter("w1", _w1);
        register_parameter("w2", _w2);
    }

    public override Tensor forward(Tensor x) =>
        nn.functional.linear(nn.functional.gelu(nn.functional.linear(x, _w1)), _w2);
}
