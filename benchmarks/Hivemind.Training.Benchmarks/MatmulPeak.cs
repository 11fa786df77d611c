using System.Diagnostics;
using static TorchSharp.torch;

namespace Hivemind.Training.Benchmarks;

/// <summary>libtorch's own float32 matmul throughput on this machine: the denominator of model FLOP utilization.</summary>
internal static class MatmulPeak
{
    public static double GflopsPerSecond(int n = 2048, int repeats = 5)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n);
        var b = randn(n, n);
        matmul(a, b).Dispose(); // warm-up: thread pool, packing buffers
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using var c = matmul(a, b);
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return 2.0 * n * n * n / times[times.Count / 2] / 1e9;
    }
}
