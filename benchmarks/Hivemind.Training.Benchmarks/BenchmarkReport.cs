using System.Globalization;
using System.Text;
using static System.FormattableString;

namespace Hivemind.Training.Benchmarks;

/// <summary>One run's figures as a markdown block that replaces the same preset and thread count's block in docs/benchmarks/training.md.</summary>
internal sealed class BenchmarkReport(
    BenchmarkOptions options, DateTime started, double loadBefore, double loadAfter, double loadMax,
    IReadOnlyList<double> moe, IReadOnlyList<double>? dense, IReadOnlyList<double>? gemm, (string Version, List<double> Steps) pytorch)
{
    /// <summary>Issue 18's bar: the MoE step at most this many dense steps, at the upper end of the interval.</summary>
    public const double MoeOverDenseTarget = 1.2;

    /// <summary>Issue 18's bar for `small` at 2 threads on an idle machine: model FLOP/s at least this share of same-run sgemm.</summary>
    public const double MfuTarget = 0.70;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // One block per mode, preset, thread count and capacity factor: a rerun replaces its own block and no other.
    private string BlockKey =>
        $"bench {(options.Mode == "all" ? "" : options.Mode + " ")}{(options.WithoutPyTorch ? "without-pytorch " : "")}{options.Config.Name} {options.Threads}t" +
        (options.Config.CapacityFactor == 0 ? "" : " cf" + options.Config.CapacityFactor.ToString(Inv));

    public string Markdown()
    {
        var c = options.Config;
        double flopsPerStep = c.TrainingFlopsPerTokenAt(options.Seq) * options.Batch * options.Seq;
        var sb = new StringBuilder();
        sb.AppendLine(Invariant($"<!-- {BlockKey} begin (written by the benchmark; rerun it to replace) -->"));
        string capacity = c.CapacityFactor == 0 ? "" : Invariant($", capacity factor {c.CapacityFactor}");
        string validation = options.Rounds < BenchmarkOptions.PublishableRounds ? " **Validation run (fewer than 30 rounds).**" : "";
        sb.Append(Invariant($"**{c.Name}, batch {options.Batch} × seq {options.Seq}, {options.Threads} thread{(options.Threads == 1 ? "" : "s")}{capacity}**: "));
        sb.Append(Invariant($"{options.Rounds} measured rounds after {options.Warmup} warm-up, {started:yyyy-MM-dd HH:mm} UTC, "));
        sb.AppendLine(Invariant($"load average (1 min) {loadBefore:F2} at start, {loadAfter:F2} at end, {loadMax:F2} at most; {Environment.ProcessorCount} CPUs.{validation}"));
        sb.AppendLine();
        sb.AppendLine(Invariant($"`{options.Command}`"));
        sb.AppendLine();
        // The allocator decides a good share of the step time (page faults), so every block says which one ran.
        sb.AppendLine(Invariant($"Allocator: {Allocator.MallocRelaunch.Status()}"));
        sb.AppendLine();
        sb.AppendLine("| measure | median | 95% interval of the median | target |");
        sb.AppendLine("|---|---|---|---|");
        Row(sb, "MoE step (s)", MedianInterval.Of(moe), "F3");
        if (dense is not null)
        {
            Row(sb, "dense step, same active parameters (s)", MedianInterval.Of(dense), "F3");
            var ratio = MedianInterval.Of(Paired(moe, dense, (m, d) => m / d));
            Row(sb, "**MoE ÷ dense step time** (paired per round)", ratio, "F3",
                $"≤ {MoeOverDenseTarget.ToString(Inv)} at the upper end: {(ratio.High <= MoeOverDenseTarget ? "**met**" : "not met")}");
        }
        if (gemm is not null)
        {
            Row(sb, $"sgemm {GemmSide.Size}³ (GFLOP/s)", MedianInterval.Of([.. gemm.Select(t => GemmSide.Flops / t / 1e9)]), "F1");
            Row(sb, "MoE model FLOP rate (GFLOP/s)", MedianInterval.Of([.. moe.Select(t => flopsPerStep / t / 1e9)]), "F1");
            var mfu = MedianInterval.Of(Paired(moe, gemm, (m, g) => flopsPerStep / m / (GemmSide.Flops / g)));
            bool targeted = options.Config.Name == "small" && options.Threads == 2;
            Row(sb, "**MFU** = model FLOP/s ÷ same-round sgemm FLOP/s", mfu, "P1", targeted
                ? $"≥ {MfuTarget:P0} on an idle machine: median {(mfu.Median >= MfuTarget ? "**met**" : "not met")}, lower end {(mfu.Low >= MfuTarget ? "met" : "not met")}"
                : $"(the ≥ {MfuTarget:P0} target is set for small at 2 threads)");
            if (dense is not null)
            {
                // The dense twin's MFU separates the MoE layer's share of a shortfall from the trunk's (attention, norms, head,
                // small matmul shapes), which both variants run alike.
                double denseFlopsPerStep = c.AsDense().TrainingFlopsPerTokenAt(options.Seq) * options.Batch * options.Seq;
                Row(sb, "dense MFU (same measure for the dense twin)", MedianInterval.Of(Paired(dense, gemm, (d, g) => denseFlopsPerStep / d / (GemmSide.Flops / g))), "P1");
            }
        }
        if (pytorch.Steps is { } py)
        {
            Row(sb, $"PyTorch {pytorch.Version} MoE step, same model (s)", MedianInterval.Of(py), "F3");
            Row(sb, $"**Hivemind tokens/s ÷ PyTorch {pytorch.Version} tokens/s** (paired)", MedianInterval.Of(Paired(py, moe, (p, m) => p / m)), "F2");
        }
        var first = MedianInterval.Of(moe);
        sb.AppendLine();
        sb.AppendLine(Invariant($"Intervals: distribution-free, from order statistics (ranks of Binomial({first.Count}, ½); coverage {first.Coverage:P1})."));
        sb.Append(Invariant($"<!-- {BlockKey} end -->"));
        return sb.ToString();
    }

    /// <summary>Replaces this preset and thread count's block in <paramref name="path"/>, or adds it before the results end marker (or at the end).</summary>
    public void WriteInto(string path)
    {
        const string ResultsEnd = "<!-- bench results end -->";
        string text = File.Exists(path) ? File.ReadAllText(path) : "";
        string begin = $"<!-- {BlockKey} begin", end = $"<!-- {BlockKey} end -->";
        int b = text.IndexOf(begin, StringComparison.Ordinal);
        int e = text.IndexOf(end, StringComparison.Ordinal);
        string block = Markdown();
        if (b >= 0 && e > b) text = text[..b] + block + text[(e + end.Length)..];
        else
        {
            int at = text.IndexOf(ResultsEnd, StringComparison.Ordinal);
            text = at >= 0 ? text[..at] + block + "\n\n" + text[at..] : text + "\n" + block + "\n";
        }
        File.WriteAllText(path, text);
    }

    private static List<double> Paired(IReadOnlyList<double> a, IReadOnlyList<double> b, Func<double, double, double> f) =>
        [.. a.Zip(b, f)];

    private static void Row(StringBuilder sb, string name, MedianInterval m, string format, string target = "") =>
        sb.AppendLine(Invariant($"| {name} | {m.Median.ToString(format, Inv)} | {m.Low.ToString(format, Inv)} – {m.High.ToString(format, Inv)} | {target} |"));
}
