using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Aggregation.Benchmarks;

/// <summary>libtorch's own coordinate-wise ops on the same data, as the peer the issue names.</summary>
internal sealed class TorchPeer : IDisposable
{
    private readonly Tensor _stack;

    public TorchPeer(float[] data, int n, int d)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        _stack = torch.tensor(data, new long[] { n, d });
    }

    /// <summary>
    /// TorchSharp 0.107 exposes no median(dim) overload (its message says "use torch.kthvalue"); libtorch's
    /// median over a dim is the lower median, which is exactly kthvalue(⌊(n+1)/2⌋, dim).
    /// </summary>
    public void Median()
    {
        using var scope = torch.NewDisposeScope();
        long n = _stack.shape[0];
        _stack.kthvalue((n + 1) / 2, 0).values.sum().item<float>();
    }

    public void Mean()
    {
        using var scope = torch.NewDisposeScope();
        _stack.mean(new long[] { 0 }).sum().item<float>();
    }

    /// <summary>Sort along the inputs, keep the middle n−2f, average: the usual libtorch trimmed mean.</summary>
    public void TrimmedMean(int f)
    {
        using var scope = torch.NewDisposeScope();
        long n = _stack.shape[0];
        _stack.sort(0).Values.narrow(0, f, n - 2 * f).mean(new long[] { 0 }).sum().item<float>();
    }

    public void Dispose() => _stack.Dispose();
}
