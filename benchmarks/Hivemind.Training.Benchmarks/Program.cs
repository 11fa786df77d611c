using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hivemind.Training;
using Hivemind.Training.Benchmarks;
using TorchSharp;

// Usage: Hivemind.Training.Benchmarks <mfu|moe-vs-dense|vs-pytorch|tokenizer-vs-step|pile> [--preset small] [--batch 8] [--seq 256]
//        [--rounds 3] [--steps 3] [--warmup 1] [--threads 2] [--python /usr/bin/python3]
//        tokenizer-vs-step: --archive <.jsonl.zst>; pile: --data <mini-pile folder> [--eval-tokens 8192] [--lr 3e-3] [--window 0]
// Each comparison interleaves the two sides in rounds, so a shared machine's load hits both alike; medians are reported.
var mode = args.Length > 0 ? args[0] : "mfu";
string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
int IntArg(string name, int fallback) => int.Parse(Arg(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

TorchRuntime.EnsureLoaded();
int threads = IntArg("threads", 2);
torch.set_num_threads(threads);
var config = ModelConfig.Preset(Arg("preset", "small"));
int batch = IntArg("batch", 8), seq = IntArg("seq", Math.Min(256, config.ContextLength));
int rounds = IntArg("rounds", 3), steps = IntArg("steps", 3), warmup = IntArg("warmup", 1);
var inv = CultureInfo.InvariantCulture;
double tokens = (double)batch * seq;
Console.WriteLine($"preset {config.Name}: {config.TotalParameters / 1e6:F1}M parameters, {config.ActiveParametersPerToken / 1e6:F2}M active/token, " +
                  $"{config.TrainingFlopsPerTokenAt(seq) / 1e6:F1} MFLOP/token; batch {batch} x seq {seq}, threads {threads}, {rounds} rounds of {steps} steps");

void Report(ModelConfig c, List<double> s)
{
    double m = StepTimer.Median(s);
    Console.WriteLine(string.Format(inv, "{0}: median step {1:F3} s ({2} steps), {3:F0} tokens/s, {4:F1} model GFLOP/s",
        c.Name, m, s.Count, tokens / m, c.TrainingFlopsPerTokenAt(seq) * tokens / m / 1e9));
}

switch (mode)
{
    case "mfu":
    {
        var gemm = new List<double>();
        var step = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            gemm.Add(MatmulPeak.GflopsPerSecond());
            step.AddRange(StepTimer.StepSeconds(config, batch, seq, warmup, steps));
        }
        gemm.Add(MatmulPeak.GflopsPerSecond());
        Report(config, step);
        double peak = StepTimer.Median(gemm);
        double model = config.TrainingFlopsPerTokenAt(seq) * tokens / StepTimer.Median(step) / 1e9;
        Console.WriteLine(string.Format(inv, "sgemm 2048^3: median {0:F1} GFLOP/s of [{1}]; MFU = {2:P1}",
            peak, string.Join(", ", gemm.Select(g => g.ToString("F0", inv))), model / peak));
        break;
    }
    case "moe-vs-dense":
    {
        var moe = new List<double>();
        var dense = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            moe.AddRange(StepTimer.StepSeconds(config, batch, seq, warmup, steps));
            dense.AddRange(StepTimer.StepSeconds(config.AsDense(), batch, seq, warmup, steps));
        }
        Report(config, moe);
        Report(config.AsDense(), dense);
        Console.WriteLine(string.Format(inv, "MoE / dense step time = {0:F2}", StepTimer.Median(moe) / StepTimer.Median(dense)));
        break;
    }
    case "vs-pytorch":
    {
        var ours = new List<double>();
        var theirs = new List<double>();
        string version = "?";
        var script = Path.Combine(AppContext.BaseDirectory, "pytorch", "hivemind_ref.py");
        for (int r = 0; r < rounds; r++)
        {
            ours.AddRange(StepTimer.StepSeconds(config, batch, seq, warmup, steps));
            var psi = new ProcessStartInfo(Arg("python", "/usr/bin/python3"), [script, "bench", "--preset", config.Name, "--batch", $"{batch}",
                "--seq", $"{seq}", "--steps", $"{steps}", "--warmup", $"{warmup}", "--threads", $"{threads}"]) { RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            var line = p.StandardOutput.ReadToEnd().Trim().Split('\n')[^1];
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"the PyTorch reference failed with exit code {p.ExitCode}; run it by hand: {psi.FileName} {string.Join(' ', psi.ArgumentList)}");
            using var doc = JsonDocument.Parse(line);
            theirs.Add(doc.RootElement.GetProperty("median_step_s").GetDouble());
            version = doc.RootElement.GetProperty("torch").GetString() ?? "?";
        }
        Report(config, ours);
        Console.WriteLine(string.Format(inv, "PyTorch {0}: median step {1:F3} s; Hivemind tokens/s / PyTorch tokens/s = {2:F2}",
            version, StepTimer.Median(theirs), StepTimer.Median(theirs) / StepTimer.Median(ours)));
        break;
    }
    case "tokenizer-vs-step":
        TokenizerVsStep.Run(Arg("archive", "artifacts/mini-pile/train.jsonl.zst"), config.Name, batch, seq, rounds, warmup, steps);
        break;
    case "pile":
        PileRun.Run(Arg("data", "artifacts/mini-pile"), config.Name, batch, seq, steps, IntArg("eval-tokens", 8192),
            double.Parse(Arg("lr", "3e-3"), inv), IntArg("window", 0));
        break;
    default:
        Console.Error.WriteLine($"unknown mode '{mode}'; use mfu, moe-vs-dense, vs-pytorch, tokenizer-vs-step or pile.");
        return 2;
}
return 0;
