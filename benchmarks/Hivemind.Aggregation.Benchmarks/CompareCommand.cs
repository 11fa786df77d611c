using Hivemind.Aggregation.Aggregators;
using Hivemind.Aggregation.Kernels;
using Hivemind.Aggregation.PreAggregators;

namespace Hivemind.Aggregation.Benchmarks;

/// <summary>
/// Times each op a few times in one process on the same data and prints GB/s (input bytes read per
/// second) and the ratios the issue asks for, as Markdown rows.
/// </summary>
internal static class CompareCommand
{
    public static void Run(IReadOnlyList<int> counts, IReadOnlyList<int> lengths, bool naive)
    {
        Console.WriteLine($"cores: {Environment.ProcessorCount}, Vector256 accelerated: {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}");
        Console.WriteLine("| n | d | op | seconds | GB/s | ratio | extra alloc (× input) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (int d in lengths)
        {
            foreach (int n in counts)
            {
                RunOne(n, d, naive);
            }
        }
    }

    private static void RunOne(int n, int d, bool naive)
    {
        float[] data = Fill(n, d);
        var rows = Enumerable.Range(0, n).Select(i => (ReadOnlyMemory<float>)data.AsMemory(i * d, d)).ToArray();
        double bytes = 4.0 * n * d;
        int f = n / 4;
        int fast = d >= 5_000_000 ? 3 : 5;
        int slow = d >= 5_000_000 ? 1 : 2;

        void Row(string op, (double Seconds, long Allocated) t, string ratio) =>
            Console.WriteLine($"| {n} | {d:0.#e0} | {op} | {t.Seconds:F3} | {bytes / t.Seconds / 1e9:F2} | {ratio} | {t.Allocated / bytes:F3} |");

        var mean = Measure.Best(fast, () => new MeanAggregator().Aggregate(rows, default));
        var median = Measure.Best(fast, () => new MedianAggregator().Aggregate(rows, default));
        var trimmed = Measure.Best(fast, () => new TrimmedMeanAggregator(f).Aggregate(rows, default));
        (double Seconds, long Allocated) torchMean, torchMedian, torchTrimmed;
        using (var torch = new TorchPeer(data, n, d))
        {
            torchMean = Measure.Best(fast, torch.Mean);
            torchMedian = Measure.Best(slow, torch.Median);
            torchTrimmed = Measure.Best(slow, () => torch.TrimmedMean(f));
        }

        Row("mean (ours, peer)", mean, "1");
        Row("libtorch mean(0)", torchMean, $"ours mean {torchMean.Seconds / mean.Seconds:F2}× faster");
        Row("median (ours)", median, $"{torchMedian.Seconds / median.Seconds:F1}× libtorch; {mean.Seconds / median.Seconds:P0} of mean");
        Row("libtorch median(0)", torchMedian, "peer");
        Row($"trimmed-mean f={f} (ours)", trimmed, $"{torchTrimmed.Seconds / trimmed.Seconds:F1}× libtorch; {mean.Seconds / trimmed.Seconds:P0} of mean");
        Row("libtorch sort+narrow+mean", torchTrimmed, "peer");

        var gram = Measure.Best(fast, () => GramMatrix.SquaredDistances(rows));
        string gramRatio = "naive skipped";
        double pairwiseSeconds = double.NaN;
        if (naive)
        {
            var pairwise = Measure.Best(1, () => NaivePairwise.SquaredDistances(rows));
            pairwiseSeconds = pairwise.Seconds;
            gramRatio = $"{pairwise.Seconds / gram.Seconds:F1}× naive pairwise";
            Row("naive pair-by-pair distances", pairwise, "peer");
        }

        Row("pairwise distances (Gram, ours)", gram, gramRatio);

        // The pass offset or drifted rows take (median-centred, scaled): its cost against the same naive peer.
        var centred = Measure.Best(fast, () => GramMatrix.SquaredDistances(rows, centre: true));
        Row("pairwise distances (Gram, forced centred pass)", centred, naive ? $"{pairwiseSeconds / centred.Seconds:F1}× naive pairwise" : "naive skipped");
        Row($"krum f={f}", Measure.Best(fast, () => new KrumAggregator(f).Aggregate(rows, default)), "");
        Row($"multi-krum f={f}", Measure.Best(fast, () => new MultiKrumAggregator(f).Aggregate(rows, default)), "");
        Row($"nnm f={f} (transform)", Measure.Best(slow, () => new NearestNeighborMixing(f).Transform(rows)), "");
    }

    /// <summary>Uniform noise, filled in parallel chunks with their own seeds so setup does not dominate the run.</summary>
    private static float[] Fill(int n, int d)
    {
        var data = new float[(long)n * d];
        const int chunk = 1 << 20;
        Parallel.For(0, (int)((data.LongLength + chunk - 1) / chunk), c =>
        {
            var random = new Random(c);
            long end = Math.Min(data.LongLength, (long)(c + 1) * chunk);
            for (long k = (long)c * chunk; k < end; k++)
            {
                data[k] = random.NextSingle() * 2 - 1;
            }
        });
        return data;
    }
}
