using System.Diagnostics;
using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Rounds;
using Hivemind.Training;
using Hivemind.Volunteer.CommandLine;
using Spectre.Console;

namespace Hivemind.Coordinator.Demo;

/// <summary>
/// The README's first command: a coordinator on its embedded store plus local volunteer processes training
/// the synthetic corpus, with progress as it goes and a summary at the end.
/// </summary>
public static class DemoRunner
{
    /// <summary>
    /// Memory each demo volunteer declares. For `small` this fits the trunk plus 4 of the 8 experts per layer
    /// (ShardPlanner: 256 MiB overhead + 16 bytes per parameter), so the demo really trains shards.
    /// </summary>
    private const string VolunteerMemory = "350MiB";

    /// <summary>Inner steps per unit: short enough that a round of `small` takes seconds on 2 cores.</summary>
    private const int DemoInnerSteps = 10;

    /// <summary>
    /// Real text's inner steps per unit (s8text): 3 × 30 steps of `tiny` per round instead of 3 × 10, so each unit restarts AdamW and its
    /// warm-up a third as often per token and a round's fixed cost (downloads, evaluation, the close) is spread over 3 times the tokens.
    /// Probe pA (docs/benchmarks/data.md, session 8): held-out 5.14 nats/token after 322,560 tokens in 7 rounds where H = 10 had
    /// 5.26 after 307,200 in 20. Session 9's H = 50 at 3e-3 on `tiny-wide` (8 rounds, 3.288 bits per byte) did no better than this
    /// setting's 3.250, so it stays.
    /// </summary>
    private const int TextInnerSteps = 30;

    /// <summary>
    /// Real text's inner learning rate (s8text): 1e-2 got the first rounds down faster than 3e-3 (probe pA), but its 12-round run ended at
    /// 3.250 bits per byte sharded and 3.244 central, where 3e-3 had 3.109 central on fewer tokens; session 9's 3e-3 with H = 50 on
    /// `tiny-wide` ended the sharded run at 3.288 (docs/benchmarks/data.md).
    /// </summary>
    private const double TextInnerLearningRate = 1e-2;

    /// <summary>
    /// Real text's tokens per inner step, and the longest sequence they are cut into (the model's context when it is shorter): a step
    /// costs the same whether its 512 tokens are 8 × 64 or 4 × 128, and the longer context lets code and roff, which zstd compresses by
    /// long matches, be predicted from more of what came before.
    /// </summary>
    private const int TextTokensPerStep = 512, TextSequenceLength = 128;

    /// <summary>
    /// Real text's outer step: plain averaging of the units' models (outer learning rate 1, no momentum). With H = 10 fresh-AdamW steps
    /// per unit, DiLoCo's Nesterov 0.9 at 0.7 (tuned for H = 500) multiplies each round's mean step up to 7 times and overshot on GPT-2
    /// tokens: held-out 5.93 nats/token after 6 rounds and 5.40 after 20, where averaging reached 5.51 after 6 (docs/benchmarks/data.md).
    /// </summary>
    private const double TextOuterLearningRate = 1.0;

    /// <summary>See <see cref="TextOuterLearningRate"/>.</summary>
    private const double TextOuterMomentum = 0.0;

    /// <summary>Runs the demo; the volunteer processes' lines go to <paramref name="console"/>, the coordinator's progress to the terminal.</summary>
    public static async Task<int> RunAsync(DemoSettings settings, CliConsole console, CancellationToken ct)
    {
        string dir = Path.GetFullPath(settings.DataDirectory);
        DemoFolder.Prepare(dir);
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        bool attack = settings.Byzantine.Length > 0;
        var options = Options(settings, dir);
        var terminal = AnsiConsole.Console;
        using var engine = OpenEngine(options);
        await using var app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0), l => l.SetMinimumLevel(LogLevel.Warning),
            new DashboardSettings(settings.DashboardPort)); // dashboard hook (issue 14)
        await app.StartAsync(ct);
        string address = CoordinatorHost.Address(app);
        var model = engine.Model;
        double initial = engine.EvaluateCurrent();
        terminal.MarkupLine($"[bold]Hivemind demo[/]: coordinator at {address}, data in {Markup.Escape(dir)}");
        terminal.MarkupLine($"model '{model.Name}': {model.TotalParameters / 1e6:0.00}M parameters ({model.Layers} layers × {model.Experts} experts, top-{model.TopK}), " +
                           $"{settings.Volunteers} volunteers{(attack ? $" + 1 RED-TEAM '{Markup.Escape(settings.Byzantine)}'" : "")}, {settings.Rounds} rounds, rule '{Markup.Escape(settings.Rule)}'");
        terminal.MarkupLine($"[bold]dashboard[/]: {app.DashboardAddress()} (live; JSON under /api, Prometheus at /metrics)"); // dashboard hook (issue 14)
        if (engine.Text is { } text)
            terminal.MarkupLine($"real text: {Markup.Escape(text.Folder)}, {text.Tokenizer} tokens ({text.Train.Length:N0} to train on, in {text.Slices.Count} slices the volunteers fetch by SHA-256); " +
                               $"held-out loss at start {initial:0.000} nats/token, uniform ln {model.VocabSize} = {Math.Log(model.VocabSize):0.000}; " +
                               $"H = {options.InnerSteps}, inner learning rate {options.InnerLearningRate}, outer step {options.OuterLearningRate} with momentum {options.OuterMomentum}");
        else
            terminal.MarkupLine($"synthetic corpus: 4 domains of order-{settings.CorpusOrder} Markov chains over bytes; held-out loss at start {initial:0.000} nats/byte, " +
                               $"optimum {engine.OptimalLoss:0.000} (exact), uniform ln 256 = {Math.Log(256):0.000}");

        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Stopwatch.StartNew();
        engine.RoundClosed += s =>
        {
            double gap = (s.EvalLoss ?? double.NaN) - engine.OptimalLoss;
            string toOptimum = double.IsFinite(engine.OptimalLoss) ? $"gap to optimum {gap:0.000}  " : "";
            terminal.MarkupLine($"[bold green]round {s.Round + 1,3}/{settings.Rounds}[/] {s.Updates} updates  train {s.MeanTrainLoss:0.000}  " +
                               $"held-out [bold]{s.EvalLoss:0.000}[/]  {toOptimum}aggregation {s.AggregationTime.TotalMilliseconds:0} ms  ({Clock(watch.Elapsed)})");
            if (s.NewVersion >= settings.Rounds) finished.TrySetResult();
        };

        var processes = new List<Process>();
        try
        {
            for (int i = 0; i < settings.Volunteers + (attack ? 1 : 0); i++)
            {
                bool red = attack && i == settings.Volunteers;
                processes.Add(StartVolunteer(address, dir, red ? "red" : $"v{i + 1}", red ? settings.Byzantine : "honest", VolunteerMemoryFor(model), console));
            }
            var exited = Task.WhenAll(processes.Select(p => p.WaitForExitAsync(ct)));
            var done = await Task.WhenAny(finished.Task, exited, Task.Delay(Timeout.Infinite, ct));
            if (done == exited)
                terminal.MarkupLine("[red]every volunteer process exited before training finished; see their lines above.[/]");
        }
        catch (OperationCanceledException)
        {
            terminal.MarkupLine("[yellow]stopped by Ctrl+C[/]");
        }
        finally
        {
            foreach (var p in processes)
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.Dispose();
            }
        }
        PrintSummary(terminal, engine, initial, watch.Elapsed);
        await app.StopAsync(CancellationToken.None);
        if (engine.Text is not null && finished.Task.IsCompleted)
        {
            // The volunteers have stopped, so the scoring and the central replay may have every core (s8text: the replay trains 3 × H
            // steps per round in this one process, and was the longest part of a --compare-central run on one thread).
            TorchSharp.torch.set_num_threads(Environment.ProcessorCount);
            DemoTextReport.Print(terminal, engine, settings.CompareCentral);
        }
        return finished.Task.IsCompleted ? 0 : 1;
    }

    /// <summary>The coordinator settings of a demo run in <paramref name="dir"/> (real text trains with plain averaging as its outer step).</summary>
    public static CoordinatorOptions Options(DemoSettings settings, string dir)
    {
        bool attack = settings.Byzantine.Length > 0;
        return new CoordinatorOptions
        {
            DataDirectory = dir,
            Preset = settings.Preset,
            MaxRounds = settings.Rounds,
            Quorum = settings.Volunteers + (attack ? 1 : 0),
            MinUpdates = 1,
            // With a handful of local volunteers a spare unit only races the quorum and arrives stale.
            SpareLeases = 0,
            InnerSteps = InnerSteps(settings),
            SequenceLength = SequenceLength(settings),
            BatchSize = settings.Data is null ? new CoordinatorOptions().BatchSize : TextTokensPerStep / SequenceLength(settings),
            InnerLearningRate = settings.InnerLearningRate ?? (settings.Data is null ? new CoordinatorOptions().InnerLearningRate : TextInnerLearningRate),
            CorpusOrder = settings.CorpusOrder,
            TrunkRule = settings.Rule,
            ExpertRule = settings.Rule,
            RoundTimeout = UnitAllowance(InnerSteps(settings)),
            LeaseDuration = UnitAllowance(InnerSteps(settings)),
            MaxLeaseDuration = TimeSpan.FromTicks(Math.Max(new CoordinatorOptions().MaxLeaseDuration.Ticks, UnitAllowance(InnerSteps(settings)).Ticks)),
            Data = settings.Data ?? "",
            Seed = settings.Seed,
            OuterLearningRate = settings.Data is null ? new CoordinatorOptions().OuterLearningRate : TextOuterLearningRate,
            OuterMomentum = settings.OuterMomentum ?? (settings.Data is null ? new CoordinatorOptions().OuterMomentum : TextOuterMomentum),
            // Spot checks (on for `serve`) are off in the demo: it shows what robust aggregation bounds, the red-team volunteer counts
            // in the quorum (a ban would stall every later round to its timeout), and recomputations would take a core from the
            // demo's volunteers on a laptop. Spot checks have their own demo in docs/verification.md (simulator `verification`).
            SpotCheckProbability = 0,
            SpotCheckProbationProbability = 0,
        };
    }

    /// <summary>The synthetic corpus's 64; on real text <see cref="TextSequenceLength"/> or the model's whole context when shorter (`tiny`: 64).</summary>
    private static int SequenceLength(DemoSettings settings) =>
        settings.Data is null ? new CoordinatorOptions().SequenceLength : Math.Min(TextSequenceLength, ModelConfig.Preset(settings.Preset).ContextLength);

    private static int InnerSteps(DemoSettings settings) => settings.InnerSteps ?? (settings.Data is null ? DemoInnerSteps : TextInnerSteps);

    /// <summary>
    /// Round deadline and lease for units of <paramref name="innerSteps"/> steps: at least <see cref="MinUnitAllowance"/>, more for a
    /// larger H (steps of 5–15 s were seen on a loaded 2-core machine), so a slow but live round is not closed short of its quorum.
    /// </summary>
    public static TimeSpan UnitAllowance(int innerSteps) =>
        TimeSpan.FromTicks(Math.Max(MinUnitAllowance.Ticks, StepAllowance.Ticks * innerSteps));

    /// <summary>See <see cref="UnitAllowance"/>.</summary>
    private static readonly TimeSpan MinUnitAllowance = TimeSpan.FromMinutes(2), StepAllowance = TimeSpan.FromSeconds(15);

    /// <summary>Elapsed time as m:ss, with hours when a run takes that long (a format of mm:ss alone wraps at the hour).</summary>
    public static string Clock(TimeSpan elapsed) =>
        elapsed.TotalHours >= 1 ? elapsed.ToString(@"h\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture) : elapsed.ToString(@"mm\:ss", System.Globalization.CultureInfo.InvariantCulture);

    private static CoordinatorEngine OpenEngine(CoordinatorOptions options)
    {
        try
        {
            return CoordinatorEngine.Open(options, TimeProvider.System);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException && options.Data.Length > 0)
        {
            throw new UsageException($"--data '{options.Data}' cannot be trained on: {e.Message.TrimEnd('.')}.", e);
        }
    }

    /// <summary>
    /// <see cref="VolunteerMemory"/> for byte models; a larger vocabulary (GPT-2's 50,257 rows in the embedding and the head) grows the
    /// trunk, so the demo declares what the trunk plus half the experts of each layer need, and volunteers still train shards.
    /// </summary>
    private static string VolunteerMemoryFor(ModelConfig model)
    {
        if (model.VocabSize == ModelConfig.ByteVocabSize) return VolunteerMemory;
        long bytes = new ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert).MemoryNeeded(Math.Max(1, model.Experts / 2));
        return $"{(bytes >> 20) + 1}MiB";
    }

    private static Process StartVolunteer(string address, string dir, string name, string behavior, string memory, CliConsole console)
    {
        var (file, prefix) = SelfCommand();
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in prefix) start.ArgumentList.Add(a);
        Hivemind.Training.Allocator.MallocRelaunch.ApplyTo(start); // volunteers train: start them with glibc's allocator tuned (no restart needed)
        foreach (var a in new[]
                 {
                     CoordinatorCli.VolunteerVerb, "--coordinator", address, "--key", Path.Combine(dir, "keys", name + ".key"), "--name", name,
                     "--memory", memory, "--cache", Path.Combine(dir, "cache", name), "--threads", "1", "--behavior", behavior,
                 })
            start.ArgumentList.Add(a);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start volunteer process {file}");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) console.Out.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) console.Error.WriteLine($"{name}: {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>How to start this program again: the apphost directly, or `dotnet Hivemind.Coordinator.dll`.</summary>
    public static (string File, string[] Prefix) SelfCommand()
    {
        string path = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(path) == "dotnet"
            ? (path, [typeof(DemoRunner).Assembly.Location])
            : (path, []);
    }

    private static void PrintSummary(IAnsiConsole console, CoordinatorEngine engine, double initial, TimeSpan elapsed)
    {
        var status = engine.Status();
        double final = status.LastEvalLoss ?? initial;
        double closed = initial - engine.OptimalLoss <= 0 ? 0 : (initial - final) / (initial - engine.OptimalLoss);
        var table = new Table().Title("[bold]Hivemind demo summary[/]").AddColumn("what").AddColumn("value");
        table.AddRow("rounds", status.Round.ToString(System.Globalization.CultureInfo.InvariantCulture));
        bool text = engine.Text is not null;
        table.AddRow(text ? "held-out loss (nats/token)" : "held-out loss (nats/byte)", $"{initial:0.000} → {final:0.000}");
        if (!text)
        {
            table.AddRow("optimum / gap to optimum", $"{engine.OptimalLoss:0.000} / {final - engine.OptimalLoss:0.000}");
            table.AddRow("share of the initial gap closed", $"{closed:P0}");
        }
        table.AddRow("accepted updates", status.AcceptedUpdates.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("rejected updates", status.Rejections.Count == 0 ? "0" : string.Join(", ", status.Rejections.Select(r => $"{r.Key}: {r.Value}")));
        table.AddRow("bytes moved", $"{status.BytesReceived / 1e6:0.0} MB of updates in, {status.BytesSent / 1e6:0.0} MB of parameters{(text ? " and data" : "")} out");
        table.AddRow("wall time", Clock(elapsed));
        console.Write(table);
    }
}
