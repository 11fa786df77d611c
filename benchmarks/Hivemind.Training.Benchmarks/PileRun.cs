using System.Diagnostics;
using System.Globalization;
using Hivemind.Data;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Training.Benchmarks;

/// <summary>
/// Trains a preset centrally on a mini-pile's train tokens (the folder scripts/build-mini-pile.sh writes) and
/// prints held-out bits per byte per component next to zstd -19 on the same documents.
/// </summary>
internal static class PileRun
{
    private const int EvalBatch = 8;
    private const int ReportEvery = 25;

    /// <summary>The trainer's knobs the demo sets differently from this benchmark's defaults (s9text's probes), and a wider preset.</summary>
    /// <param name="WarmupSteps">-1: min(100, steps / 10), the benchmark's old default.</param>
    /// <param name="FinalLearningRateFraction">1: constant after the warm-up; below 1: cosine decay to that fraction.</param>
    /// <param name="Width">0: the preset's; otherwise the residual width (heads stay, expert hidden = 2 × width).</param>
    public sealed record Schedule(double WeightDecay, int WarmupSteps, double FinalLearningRateFraction, int Width);

    public static void Run(string folder, string preset, int batch, int seq, int steps, long evalTokens, double learningRate, int window, Schedule schedule)
    {
        using TokenFile train = TokenFile.Open(Path.Combine(folder, "train"));
        using TokenFile heldOut = TokenFile.Open(Path.Combine(folder, "held-out"));
        ITextTokenizer tokenizer = TextTokenizers.Get(train.Header.Tokenizer);
        var config = ModelConfig.Preset(preset, tokenizer) with { LocalAttentionWindow = window };
        if (schedule.Width > 0) config = config with { Name = $"{config.Name}-w{schedule.Width}", Width = schedule.Width, ExpertHidden = 2 * schedule.Width };
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Format(inv, "{0}: {1:F1}M parameters, vocabulary {2} ({3}), local window {4}; {5} steps of {6} x {7} tokens on {8} ({9} tokens)",
            config.Name, config.TotalParameters / 1e6, config.VocabSize, tokenizer.Name, window, steps, batch, seq, train.Prefix, train.Length));

        ParameterSet theta = ModelInit.Initialize(config, 1);
        var selection = HeldOutSelection.Select(heldOut, evalTokens);
        var chosen = selection.SelectMany(s => s).ToHashSet();
        BitsPerByteTable before = PileEvaluator.Evaluate(config, theta, heldOut, seq, EvalBatch, evalTokens, "initial");

        int warmup = schedule.WarmupSteps >= 0 ? schedule.WarmupSteps : Math.Min(100, steps / 10);
        var options = new LocalTrainingOptions(steps, batch, seq, learningRate, schedule.WeightDecay, warmup, ClipNorm: 1.0, Seed: 1)
        {
            FinalLearningRateFraction = schedule.FinalLearningRateFraction,
        };
        Console.WriteLine(string.Format(inv, "lr {0} (warm-up {1}, final fraction {2}), weight decay {3}", learningRate, warmup, schedule.FinalLearningRateFraction, schedule.WeightDecay));
        var clock = Stopwatch.StartNew();
        var progress = new SyncProgress(p =>
        {
            if ((p.Step) % ReportEvery == 0 || p.Step == steps)
                Console.WriteLine(string.Format(inv, "step {0}/{1} loss {2:F3} nats/token, {3:F0} s", p.Step, steps, p.Loss, clock.Elapsed.TotalSeconds));
        });
        var source = new TokenFileBatchSource(train, 0, train.Length, seed: 1);
        LocalTrainingResult result = LocalTrainer.Train(config, theta, ShardSpec.Full(config), source, options, progress);
        var trained = new ParameterSet();
        foreach (var t in theta)
        {
            float[] delta = result.PseudoGradient[t.Name].Values;
            var values = new float[t.Values.Length];
            for (int i = 0; i < values.Length; i++) values[i] = t.Values[i] - delta[i];
            trained.Add(new NamedTensor(t.Name, t.Shape, values));
        }
        BitsPerByteTable after = PileEvaluator.Evaluate(config, trained, heldOut, seq, EvalBatch, evalTokens,
            string.Create(inv, $"{config.Name}, {steps} steps"));
        string heldOutArchive = Path.Combine(folder, "held-out.jsonl.zst");
        BitsPerByteTable zstd = CompressorBaseline.Measure(heldOutArchive, chosen);
        Console.WriteLine(string.Format(inv, "trained {0} tokens in {1:F0} s", (long)steps * batch * seq, clock.Elapsed.TotalSeconds));
        Console.Write(BitsPerByteTable.Markdown([before, after, zstd]));
    }

    /// <summary>Scores a checkpoint (e.g. a demo's <c>checkpoints/vNNNNNN.safetensors</c>) as the demo's final table does, beside θ_0 and zstd -19.</summary>
    public static void EvaluateCheckpoint(string folder, string preset, string checkpoint, int seq, long evalTokens)
    {
        using TokenFile heldOut = TokenFile.Open(Path.Combine(folder, "held-out"));
        var config = ModelConfig.Preset(preset, TextTokenizers.Get(heldOut.Header.Tokenizer));
        var (parameters, _) = SafeTensors.ReadWithMetadata(checkpoint);
        var chosen = HeldOutSelection.Select(heldOut, evalTokens).SelectMany(s => s).ToHashSet();
        BitsPerByteTable before = PileEvaluator.Evaluate(config, ModelInit.Initialize(config, 1), heldOut, seq, EvalBatch, evalTokens, "initial");
        BitsPerByteTable after = PileEvaluator.Evaluate(config, parameters, heldOut, seq, EvalBatch, evalTokens, Path.GetFileNameWithoutExtension(checkpoint));
        BitsPerByteTable zstd = CompressorBaseline.Measure(Path.Combine(folder, "held-out.jsonl.zst"), chosen);
        Console.Write(BitsPerByteTable.Markdown([before, after, zstd]));
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
