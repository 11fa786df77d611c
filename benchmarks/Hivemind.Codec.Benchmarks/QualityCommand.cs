using Hivemind.Training;

namespace Hivemind.Codec.Benchmarks;

/// <summary>Runs every setting for each seed, prints per-run rows and a paired summary, and draws the frontier (reduction vs loss penalty).</summary>
internal static class QualityCommand
{
    public static int Run(Args options)
    {
        int seeds = options.Get("--seeds", 3);
        int firstSeed = options.Get("--first-seed", 1);
        int rounds = options.Get("--rounds", 12);
        int volunteers = options.Get("--volunteers", 4);
        int inner = options.Get("--inner-steps", 30);
        string which = options.Get("--settings", "all");
        string plot = options.Get("--out", "docs/benchmarks/codecs-frontier.png");
        string? csv = options.Get("--csv", "") is { Length: > 0 } c ? c : null;
        var data = options.Get("--data", "") is { Length: > 0 } d ? QualityData.Resolve(d) : default((string Folder, string Name, string Tokenizer, long TrainTokens)?);
        // --baseline false skips fp32 DiLoCo when another invocation (same seed, H, rounds, corpus) already ran it: frontier pairs across CSVs.
        bool baseline = options.Get("--baseline", "true") switch
        {
            "true" => true,
            "false" => false,
            var v => throw new ArgumentException($"--baseline '{v}' must be true or false (false: the fp32 DiLoCo rows come from another --csv)."),
        };
        var settings = which == "all" ? QualitySetting.All
            : [QualitySetting.Baseline, .. which.Split(';').Select(QualitySetting.Parse).Where(s => s != QualitySetting.Baseline)];
        if (!baseline) settings = [.. settings.Where(s => s != QualitySetting.Baseline)];
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        string scratch = Path.Combine(Path.GetTempPath(), "hivemind-codec-bench-" + Environment.ProcessId);
        Console.WriteLine(data is { } t
            ? $"real text: {t.Folder} ({t.Tokenizer} tokenizer, {t.TrainTokens:N0} training tokens)"
            : "synthetic corpus");
        Console.WriteLine($"tiny preset, {volunteers} volunteers, {rounds} rounds of H = {inner} inner steps (batch 4 × 32 tokens), seeds {firstSeed}..{firstSeed + seeds - 1}");
        Console.WriteLine("| setting | seed | held-out loss | up B/token | down B/token | down B/token after first downloads | reduction vs DP | reduction after first downloads |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        if (csv is not null && !File.Exists(csv)) File.WriteAllText(csv, RunRow.Header + "\n");
        var rows = new List<RunRow>();
        try
        {
            for (long seed = firstSeed; seed < firstSeed + seeds; seed++)
            {
                foreach (var s in settings)
                {
                    var r = RunRow.From(QualityRun.Run(s, seed, volunteers, rounds, inner, scratch, data?.Folder), rounds, volunteers, data?.Name ?? "");
                    rows.Add(r);
                    Console.WriteLine($"| {s.Name} | {seed} | {r.FinalLoss:0.0000} | {r.UpPerToken:0.000} | {r.DownPerToken:0.000} | {r.SteadyDownPerToken:0.000} | {r.Reduction:0} | {r.SteadyReduction:0} |");
                    if (csv is not null) File.AppendAllText(csv, r.ToCsv() + "\n");
                }
            }
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }

        Console.WriteLine();
        var points = FrontierReport.Summarize(rows);
        FrontierReport.Print(rows, points);
        Console.WriteLine($"\nfrontier plot: {string.Join(", ", FrontierReport.Plot(plot, points))}");
        return 0;
    }
}
