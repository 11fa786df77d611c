using System.Diagnostics;
using System.Globalization;
using Hivemind.Coordinator.Rounds;
using Hivemind.Data;
using Hivemind.Training;
using Spectre.Console;

namespace Hivemind.Coordinator.Demo;

/// <summary>The real-text demo's last word: held-out bits per byte per component, as The Pile reports it, beside zstd -19 on the same documents.</summary>
public static class DemoTextReport
{
    /// <summary>Held-out tokens scored per component: every component gets a say without the table taking longer than a few rounds.</summary>
    public const long TokensPerComponent = 8192;

    /// <summary>The issue's bar for the sharded run: within 10% of the central one in held-out bits per byte.</summary>
    private const double MaxShardedGap = 0.10;

    /// <summary>Rows of the evaluation batches.</summary>
    private const int EvalBatch = 8;

    /// <summary>Scores θ_0 and the trained model beside zstd -19 and prints the table; then (when asked) trains and scores the central replay.</summary>
    public static void Print(IAnsiConsole console, CoordinatorEngine engine, bool compareCentral)
    {
        var corpus = engine.Text!;
        var model = engine.Model;
        int seq = engine.Options.SequenceLength;
        var watch = Stopwatch.StartNew();
        var tables = new List<BitsPerByteTable>
        {
            PileEvaluator.Evaluate(model, ModelInit.Initialize(model, engine.Options.Seed), corpus.HeldOut, seq, EvalBatch, TokensPerComponent, "initial"),
        };
        BitsPerByteTable sharded = PileEvaluator.Evaluate(model, engine.GlobalParameters(), corpus.HeldOut, seq, EvalBatch, TokensPerComponent,
            string.Create(CultureInfo.InvariantCulture, $"hivemind, {engine.Round} rounds"));
        tables.Add(sharded);
        string archive = Path.Combine(corpus.Folder, "held-out.jsonl.zst");
        BitsPerByteTable? zstd = null;
        if (File.Exists(archive))
        {
            var chosen = HeldOutSelection.Select(corpus.HeldOut, TokensPerComponent).SelectMany(d => d).ToHashSet();
            zstd = CompressorBaseline.Measure(archive, chosen);
            tables.Add(zstd);
        }
        console.WriteLine();
        console.MarkupLine($"[bold]held-out bits per byte[/] ({TokensPerComponent} tokens per component, the same documents in every column; {watch.Elapsed.TotalSeconds:0} s):");
        console.Write(new Text(BitsPerByteTable.Markdown(tables)));
        if (zstd is not null)
        {
            bool beats = sharded.All.BitsPerByte < zstd.All.BitsPerByte;
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"overall: hivemind {sharded.All.BitsPerByte:0.000} vs zstd -19 {zstd.All.BitsPerByte:0.000} bits/byte: {(beats ? "[green]below the compressor[/]" : "[yellow]not yet below the compressor; train more rounds[/]")}"));
        }
        else
        {
            console.MarkupLine($"(no {Markup.Escape(archive)}, so no zstd -19 row)");
        }
        if (!compareCentral) return;
        console.MarkupLine("training the same model centrally on the accepted units' tokens (the control of the sharded run)…");
        var (parameters, tokens) = CentralReplay.Train(engine);
        BitsPerByteTable central = PileEvaluator.Evaluate(model, parameters, corpus.HeldOut, seq, EvalBatch, TokensPerComponent,
            string.Create(CultureInfo.InvariantCulture, $"central, {tokens} tokens"));
        console.Write(new Text(BitsPerByteTable.Markdown([sharded, central])));
        double ratio = sharded.All.BitsPerByte / central.All.BitsPerByte;
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"sharded / central bits per byte = {ratio:0.000} ({(Math.Abs(ratio - 1) <= MaxShardedGap ? "within" : "outside")} {MaxShardedGap:P0})"));
    }
}
