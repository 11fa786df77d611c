using Hivemind.Training;
using Hivemind.Training.Benchmarks;
using TorchSharp;
using Hivemind.Training.Allocator;

// Training processes restart once with glibc's allocator tuned for libtorch, as a volunteer does (the figures should be
// what volunteers get); HIVEMIND_MALLOC_TUNING=off measures glibc's defaults.
if (MallocRelaunch.RelaunchOrExitCode() is int mallocExitCode)
    return mallocExitCode;

// Interleaved training-step benchmark: MoE, dense twin, libtorch's sgemm and the PyTorch reference take turns step by
// step in one process (A B C D, B C D A, …), so the machine's load hits all alike; each figure is a median with a
// distribution-free 95% interval, ratios are paired per round. See docs/benchmarks/training.md.
// Real-text modes (docs/benchmarks/data.md): tokenizer-vs-step --archive <.jsonl.zst>; pile --data <mini-pile folder>
// [--eval-tokens 8192] [--lr 3e-3] [--window 0]; both take --preset, --batch, --seq, --rounds, --steps, --warmup, --threads.
// pile --checkpoint FILE: scores a saved model (a demo's checkpoints/vNNNNNN.safetensors) instead of training one.
// step-profile [--preset small] [--batch 8] [--seq 256] [--threads 2] [--rounds 15]: each op family alone, forward + backward.
// head-loss [--rows 512] [--width 64] [--vocab 50257] [--rounds 7] [--warmup 2]: the output layer's loss alone, plain vs chunked.
// adamw-ab [--preset small] [--threads 2] [--rounds 40] [--warmup 3]: whole MoE steps with the fused AdamW kernel and with
// the libtorch ops it replaced, alternating step by step in one process; paired ratio with its interval.
if (args.Length > 0 && args[0] is "tokenizer-vs-step" or "pile" or "head-loss" or "step-profile" or "adamw-ab")
{
    string Arg(string name, string fallback)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
    int IntArg(string name, int fallback) =>
        int.Parse(Arg(name, fallback.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);
    TorchRuntime.EnsureLoaded();
    torch.set_num_threads(IntArg("threads", 2));
    var textConfig = ModelConfig.Preset(Arg("preset", "small"));
    int batch = IntArg("batch", 8), seq = IntArg("seq", Math.Min(256, textConfig.ContextLength));
    if (args[0] == "adamw-ab")
        OptimizerAb.Run(textConfig, batch, seq, IntArg("rounds", 40), IntArg("warmup", 3));
    else if (args[0] == "step-profile")
        StepProfile.Run(textConfig.Name, batch, seq, IntArg("rounds", 15), IntArg("warmup", 3));
    else if (args[0] == "head-loss")
        HeadLoss.Run(IntArg("rows", 512), IntArg("width", 64), IntArg("vocab", 50257), IntArg("rounds", 7), IntArg("warmup", 2));
    else if (args[0] == "tokenizer-vs-step")
        TokenizerVsStep.Run(Arg("archive", "artifacts/mini-pile/train.jsonl.zst"), textConfig.Name, batch, seq,
            IntArg("rounds", 3), IntArg("warmup", 1), IntArg("steps", 3));
    else if (Arg("checkpoint", "") is { Length: > 0 } checkpoint)
        PileRun.EvaluateCheckpoint(Arg("data", "artifacts/mini-pile"), textConfig.Name, checkpoint, seq, IntArg("eval-tokens", 8192));
    else
        PileRun.Run(Arg("data", "artifacts/mini-pile"), textConfig.Name, batch, seq, IntArg("steps", 3), IntArg("eval-tokens", 8192),
            double.Parse(Arg("lr", "3e-3"), System.Globalization.CultureInfo.InvariantCulture), IntArg("window", 0),
            new PileRun.Schedule(double.Parse(Arg("weight-decay", "0.1"), System.Globalization.CultureInfo.InvariantCulture), IntArg("warmup", -1),
                double.Parse(Arg("final-lr", "1"), System.Globalization.CultureInfo.InvariantCulture), IntArg("width", 0)));
    return 0;
}

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchmarkOptions.Usage);
    return 2;
}

TorchRuntime.EnsureLoaded();
torch.set_num_threads(options.Threads);
Console.WriteLine(MallocRelaunch.Status());
var config = options.Config;
double loadBefore = LoadAverage.OneMinute();
var started = DateTime.UtcNow;
Console.WriteLine($"{options.Command}");
Console.WriteLine($"{config.Name}: {config.TotalParameters / 1e6:F1}M parameters, {config.ActiveParametersPerToken / 1e6:F2}M active per token, " +
                  $"{config.TrainingFlopsPerTokenAt(options.Seq) / 1e6:F1} MFLOP per token; batch {options.Batch} × seq {options.Seq}, " +
                  $"{options.Threads} threads; {options.Warmup} warm-up + {options.Rounds} measured rounds; load average {loadBefore:F2}");
if (options.Rounds < BenchmarkOptions.PublishableRounds)
    Console.WriteLine($"note: {options.Rounds} rounds is a validation run; publish only runs of at least {BenchmarkOptions.PublishableRounds}.");

int steps = options.Warmup + options.Rounds;
var sides = new List<IBenchmarkSide>();
try
{
    sides.Add(new TrainerSide("MoE", config, options.Batch, options.Seq, steps));
    if (options.WantsDense) sides.Add(new TrainerSide("dense", config.AsDense(), options.Batch, options.Seq, steps));
    if (options.WantsGemm) sides.Add(new GemmSide());
    if (options.WantsPyTorch) sides.Add(new PyTorchSide(options.Python, config, options.Batch, options.Seq, options.Threads));
    var times = sides.ToDictionary(s => s, _ => new List<double>());
    double loadMax = loadBefore;
    for (int round = 0; round < steps; round++)
    {
        // The order rotates every round so that each side follows each other side equally often: a side that leaves
        // spinning OpenMP or OpenBLAS threads behind (PyTorch's, ours) then slows every side alike, not always the next.
        for (int i = 0; i < sides.Count; i++)
        {
            var side = sides[(round + i) % sides.Count];
            double seconds = side.Step();
            if (round >= options.Warmup) times[side].Add(seconds);
        }
        loadMax = Math.Max(loadMax, LoadAverage.OneMinute());
        if (round >= options.Warmup)
            Console.WriteLine($"round {round - options.Warmup + 1}/{options.Rounds}: " +
                              string.Join(", ", sides.Select(s => $"{s.Name} {times[s][^1]:F3} s")) + $"; load {LoadAverage.OneMinute():F2}");
    }
    var result = new BenchmarkReport(options, started, loadBefore, LoadAverage.OneMinute(), loadMax,
        times[sides[0]],
        sides.OfType<TrainerSide>().Skip(1).Select(s => times[s]).FirstOrDefault(),
        sides.OfType<GemmSide>().Select(s => times[s]).FirstOrDefault(),
        sides.OfType<PyTorchSide>().Select(s => (s.TorchVersion, times[s])).FirstOrDefault());
    Console.WriteLine();
    Console.WriteLine(result.Markdown());
    if (config.CapacityFactor > 0) Console.WriteLine(CapacityReport.Describe(config, options.Batch, options.Seq));
    if (options.Markdown is { } path)
    {
        result.WriteInto(path);
        Console.WriteLine($"results written into {path}");
    }
}
finally
{
    foreach (var side in sides) side.Dispose();
}
return 0;
