using System.Diagnostics;
using Hivemind.Data;

namespace Hivemind.Training.Benchmarks;

/// <summary>Times inner training steps through the real <see cref="LocalTrainer"/>, using its per-step progress reports (the tokenizer-vs-step mode).</summary>
internal static class StepTimer
{
    /// <summary>Seconds of each step after <paramref name="warmup"/> untimed steps.</summary>
    public static List<double> StepSeconds(ModelConfig config, int batch, int seq, int warmup, int steps)
    {
        var shard = ShardSpec.Full(config);
        var theta = ModelInit.Initialize(config, 1);
        var data = BatchSources.Open(DataSpec.Synthetic(new SyntheticCorpusConfig(Seed: 1), [0.25, 0.25, 0.25, 0.25], 1));
        var options = new LocalTrainingOptions(warmup + steps, batch, seq, 1e-3, 0.1, 0, 1.0, 1);
        var marks = new List<long>();
        var clock = Stopwatch.StartNew();
        var progress = new SyncProgress(_ => marks.Add(clock.ElapsedTicks));
        long start = clock.ElapsedTicks;
        LocalTrainer.Train(config, theta, shard, data, options, progress);
        var durations = new List<double>();
        for (int i = warmup; i < marks.Count; i++)
            durations.Add((marks[i] - (i == 0 ? start : marks[i - 1])) / (double)Stopwatch.Frequency);
        return durations;
    }

    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
