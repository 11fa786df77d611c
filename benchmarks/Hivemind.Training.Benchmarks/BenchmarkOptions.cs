using System.Globalization;

namespace Hivemind.Training.Benchmarks;

/// <summary>Command line of the training benchmark; every bad value is named with its fix.</summary>
internal sealed record BenchmarkOptions(
    string Mode, ModelConfig Config, int Batch, int Seq, int Threads, int Rounds, int Warmup, string Python, string? Markdown, bool WithoutPyTorch)
{
    /// <summary>Measured rounds below this are a validation run, not a result to publish (the issue asks for ≥ 30).</summary>
    public const int PublishableRounds = 30;

    public static readonly string[] Modes = ["all", "moe-vs-dense", "mfu", "vs-pytorch"];

    public const string Usage =
        "usage: dotnet " + BinaryPath + " [all|moe-vs-dense|mfu|vs-pytorch] [--preset small|base|tiny] [--batch N] [--seq N]\n" +
        "       [--threads N] [--rounds 30] [--warmup 3] [--capacity-factor 0] [--python /usr/bin/python3] [--without-pytorch] [--markdown docs/benchmarks/training.md]";

    public static BenchmarkOptions Parse(string[] args)
    {
        var mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "all";
        if (!Modes.Contains(mode)) throw new ArgumentException($"unknown mode '{mode}'; use one of {string.Join(", ", Modes)}.");
        var known = new HashSet<string> { "preset", "batch", "seq", "threads", "rounds", "warmup", "capacity-factor", "python", "markdown" };
        // The one flag without a value: `all` minus the PyTorch side, whose steps take 4–10× ours (long runs for base).
        bool withoutPyTorch = args.Contains("--without-pytorch");
        args = [.. args.Where(a => a != "--without-pytorch")];
        for (int i = mode == args.FirstOrDefault() ? 1 : 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || !known.Contains(args[i][2..]))
                throw new ArgumentException($"unknown option '{args[i]}'.");
            if (i + 1 >= args.Length) throw new ArgumentException($"option '{args[i]}' needs a value.");
        }
        string Arg(string name, string fallback)
        {
            int i = Array.IndexOf(args, "--" + name);
            return i >= 0 ? args[i + 1] : fallback;
        }
        int Int(string name, int fallback, int min)
        {
            var text = Arg(name, fallback.ToString(CultureInfo.InvariantCulture));
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
                throw new ArgumentException($"--{name} is '{text}'; use a whole number >= {min}.");
            return v;
        }
        var preset = ModelConfig.Preset(Arg("preset", "small"));
        var capacityText = Arg("capacity-factor", "0");
        if (!double.TryParse(capacityText, NumberStyles.Float, CultureInfo.InvariantCulture, out double capacity))
            throw new ArgumentException($"--capacity-factor is '{capacityText}'; use 0 (unlimited) or a positive number such as 1.25.");
        var config = preset with { CapacityFactor = capacity };
        config.Validate();
        // The shapes of docs/benchmarks/training.md: 2048 tokens a step for both presets.
        int defaultBatch = preset.Name == "base" ? 4 : 8;
        int batch = Int("batch", defaultBatch, 1);
        int seq = Int("seq", Math.Min(2048 / defaultBatch, preset.ContextLength), 1);
        if (seq > preset.ContextLength) throw new ArgumentException($"--seq {seq} exceeds the context length {preset.ContextLength} of '{preset.Name}'.");
        return new BenchmarkOptions(mode, config, batch, seq, Int("threads", 2, 1), Int("rounds", PublishableRounds, MedianInterval.MinimumCount),
            Int("warmup", 3, 1), Arg("python", "/usr/bin/python3"), args.Contains("--markdown") ? Arg("markdown", "") : null, withoutPyTorch);
    }

    public bool WantsDense => Mode is "all" or "moe-vs-dense";

    public bool WantsGemm => Mode is "all" or "mfu";

    public bool WantsPyTorch => (Mode is "all" && !WithoutPyTorch) || Mode is "vs-pytorch";

    /// <summary>Where the Release build puts the benchmark, relative to the repository root (the documented working directory).</summary>
    public const string BinaryPath = "benchmarks/Hivemind.Training.Benchmarks/bin/Release/net10.0/Hivemind.Training.Benchmarks.dll";

    /// <summary>The command line that reproduces this run from the repository root.</summary>
    public string Command =>
        $"dotnet {BinaryPath} {Mode} --preset {Config.Name} --batch {Batch} --seq {Seq} --threads {Threads} --rounds {Rounds} --warmup {Warmup}" +
        (Config.CapacityFactor == 0 ? "" : $" --capacity-factor {Config.CapacityFactor.ToString(CultureInfo.InvariantCulture)}") +
        (WithoutPyTorch ? " --without-pytorch" : "") +
        (Markdown is null ? "" : " --markdown " + Markdown);
}
