using System.Diagnostics;
using static TorchSharp.torch;

namespace Hivemind.Training.Benchmarks;

/// <summary>libtorch's own float32 n³ matmul: the peak a training step's FLOP rate is measured against (MFU).</summary>
internal sealed class GemmSide : IBenchmarkSide
{
    public const int Size = 2048;

    private readonly Tensor _a = randn(Size, Size);
    private readonly Tensor _b = randn(Size, Size);

    public string Name => $"sgemm {Size}³";

    /// <summary>Floating-point operations of one product.</summary>
    public static double Flops => 2.0 * Size * Size * Size;

    public double Step()
    {
        long start = Stopwatch.GetTimestamp();
        using var c = matmul(_a, _b);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }
}
