using System.Globalization;

namespace Hivemind.Training.Benchmarks;

/// <summary>
/// Session 11's optimizer A/B: two identical MoE trainers, one stepping AdamW with <see cref="FusedAdamWKernel"/> and one
/// with the libtorch ops, take whole <see cref="LocalTrainer"/> steps alternately (A B, B A, …) in one process, so the
/// machine's load hits both alike; prints each side's median with its 95% interval and the paired per-round ratio.
/// </summary>
internal static class OptimizerAb
{
    public static void Run(ModelConfig config, int batch, int seq, int rounds, int warmup)
    {
        var inv = CultureInfo.InvariantCulture;
        int steps = warmup + rounds;
        using var fused = new TrainerSide("fused kernel", config, batch, seq, steps);
        using var ops = new TrainerSide("libtorch ops", config, batch, seq, steps, fusedAdamW: false);
        IBenchmarkSide[] sides = [fused, ops];
        var times = new[] { new List<double>(), new List<double>() };
        double loadBefore = LoadAverage.OneMinute(), loadMax = loadBefore;
        Console.WriteLine(string.Format(inv, "adamw-ab: {0}, batch {1} × seq {2}, {3} threads, {4} warm-up + {5} rounds; load average {6:F2}",
            config.Name, batch, seq, TorchSharp.torch.get_num_threads(), warmup, rounds, loadBefore));
        for (int round = 0; round < steps; round++)
        {
            for (int i = 0; i < sides.Length; i++)
            {
                int s = (round + i) % sides.Length;
                double seconds = sides[s].Step();
                if (round >= warmup) times[s].Add(seconds);
            }
            loadMax = Math.Max(loadMax, LoadAverage.OneMinute());
        }
        for (int s = 0; s < sides.Length; s++)
        {
            var m = MedianInterval.Of(times[s]);
            Console.WriteLine(string.Format(inv, "MoE step, AdamW {0,-13} {1:F4} s [{2:F4}–{3:F4}]", sides[s].Name, m.Median, m.Low, m.High));
        }
        var ratio = MedianInterval.Of([.. times[1].Zip(times[0], (o, f) => o / f)]);
        var difference = MedianInterval.Of([.. times[1].Zip(times[0], (o, f) => (o - f) * 1e3)]);
        Console.WriteLine(string.Format(inv, "paired ops ÷ fused: {0:F4} [{1:F4}–{2:F4}]; ops − fused: {3:F1} ms [{4:F1}–{5:F1}]",
            ratio.Median, ratio.Low, ratio.High, difference.Median, difference.Low, difference.High));
        Console.WriteLine(string.Format(inv, "load average {0:F2} at start, {1:F2} at end, {2:F2} at most", loadBefore, LoadAverage.OneMinute(), loadMax));
    }
}
