using System.Diagnostics;
using System.Globalization;
using Hivemind.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training.Benchmarks;

/// <summary>
/// The loss through the output projection alone, forward and backward: libtorch's <c>cross_entropy</c> over full logits
/// against <see cref="ChunkedCrossEntropy"/> at several chunk sizes, interleaved round by round (docs/benchmarks/data.md).
/// </summary>
internal static class HeadLoss
{
    private static readonly int[] ChunkRows = [0, 8, 20, 64, 128, 512];

    public static void Run(int rows, int width, int vocabulary, int rounds, int warmup)
    {
        var inv = CultureInfo.InvariantCulture;
        var generator = new Generator(1);
        using var hidden = randn(rows, width, generator: generator);
        using var weight = randn(vocabulary, width, generator: generator);
        using var targets = randint(vocabulary, [rows], generator: generator);
        var sides = new List<(string Name, Func<Tensor, Tensor, Tensor> Loss)>
        {
            ("plain cross_entropy", (h, w) => nn.functional.cross_entropy(h.matmul(w.t()), targets)),
        };
        foreach (int c in ChunkRows)
        {
            int chunk = c;
            string name = chunk == 0 ? $"chunked, default {ChunkedCrossEntropy.RowsPerChunk(vocabulary)} rows" : $"chunked, {chunk} rows";
            sides.Add((name, (h, w) => ChunkedCrossEntropy.MeanLoss(h, w, targets, chunk)));
        }
        Console.WriteLine(string.Format(inv, "head loss, forward + backward: {0} rows x width {1} x vocabulary {2}; {3} warm-up + {4} rounds; load average {5:F2}",
            rows, width, vocabulary, warmup, rounds, LoadAverage.OneMinute()));
        var times = sides.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < warmup + rounds; round++)
        {
            for (int i = 0; i < sides.Count; i++)
            {
                int s = (round + i) % sides.Count;
                using var scope = NewDisposeScope();
                var h = hidden.clone().requires_grad_(true);
                var w = weight.clone().requires_grad_(true);
                var clock = Stopwatch.StartNew();
                var loss = sides[s].Loss(h, w);
                loss.backward();
                double seconds = clock.Elapsed.TotalSeconds;
                if (round >= warmup) times[s].Add(seconds);
            }
        }
        double plain = Median(times[0]);
        for (int s = 0; s < sides.Count; s++)
            Console.WriteLine(string.Format(inv, "{0,-32} median {1,8:F1} ms  ({2:F2}x plain)", sides[s].Name, Median(times[s]) * 1e3, Median(times[s]) / plain));
        Console.WriteLine(string.Format(inv, "load average after {0:F2}", LoadAverage.OneMinute()));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
