using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hivemind.Training;
using Hivemind.Training.Benchmarks;
using TorchSharp;

// Usage: Hivemind.Training.Benchmarks <mfu|moe-vs-dense|vs-pytorch|step> [--preset small] [--batch 16] [--seq 256]
//        [--steps 5] [--warmup 2] [--threads 2] [--python /usr/bin/python3]
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
int batch = IntArg("batch", 16), seq = IntArg("seq", Math.Min(256, config.ContextLength));
int steps = IntArg("steps", 5), warmup = IntArg("warmup", 2);
var inv = CultureInfo.InvariantCulture;
Console.WriteLine($"preset {config.Name}: {config.TotalParameters / 1e6:F1}M parameters, {config.ActiveParametersPerToken / 1e6:F2}M active/token, " +
                  $"{config.TrainingFlopsPerTokenAt(seq) / 1e6:F1} MFLOP/token; batch {batch} x seq {seq}, threads {threads}");

double StepStats(ModelConfig c, string label)
{
    double s = StepTimer.MedianStepSeconds(c, batch, seq, warmup, steps);
    double tokens = (double)batch * seq;
    double gflops = c.TrainingFlopsPerTokenAt(seq) * tokens / s / 1e9;
    Console.WriteLine(string.Format(inv, "{0}: median step {1:F3} s, {2:F0} tokens/s, {3:F1} model GFLOP/s", label, s, tokens / s, gflops));
    return s;
}

switch (mode)
{
    case "step":
        StepStats(config, config.Name);
        break;
    case "mfu":
    {
        double peakBefore = MatmulPeak.GflopsPerSecond();
        double s = StepStats(config, config.Name);
        double peakAfter = MatmulPeak.GflopsPerSecond();
        double peak = Math.Max(peakBefore, peakAfter);
        double model = config.TrainingFlopsPerTokenAt(seq) * batch * seq / s / 1e9;
        Console.WriteLine(string.Format(inv, "sgemm 2048^3: {0:F1} GFLOP/s before, {1:F1} after; MFU = {2:P1} of the better", peakBefore, peakAfter, model / peak));
        break;
    }
    case "moe-vs-dense":
    {
        double moe = StepStats(config, config.Name);
        double dense = StepStats(config.AsDense(), config.AsDense().Name);
        Console.WriteLine(string.Format(inv, "MoE / dense step time = {0:F2}", moe / dense));
        break;
    }
    case "vs-pytorch":
    {
        double s = StepStats(config, config.Name);
        var python = Arg("python", "/usr/bin/python3");
        var script = Path.Combine(AppContext.BaseDirectory, "pytorch", "hivemind_ref.py");
        var psi = new ProcessStartInfo(python, [script, "bench", "--preset", config.Name, "--batch", $"{batch}", "--seq", $"{seq}",
            "--steps", $"{steps}", "--warmup", $"{warmup}", "--threads", $"{threads}"]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var line = p.StandardOutput.ReadToEnd().Trim().Split('\n')[^1];
        p.WaitForExit();
        using var doc = JsonDocument.Parse(line);
        double ref_ = doc.RootElement.GetProperty("median_step_s").GetDouble();
        Console.WriteLine(string.Format(inv, "PyTorch {0}: median step {1:F3} s; Hivemind tokens/s / PyTorch tokens/s = {2:F2}",
            doc.RootElement.GetProperty("torch").GetString(), ref_, ref_ / s));
        break;
    }
    default:
        Console.Error.WriteLine($"unknown mode '{mode}'; use mfu, moe-vs-dense, vs-pytorch or step.");
        return 2;
}
return 0;
