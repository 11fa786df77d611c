namespace Hivemind.Coordinator.Demo;

/// <summary>What the demo runs: how many volunteer processes, rounds, which model and rule.</summary>
public sealed record DemoSettings(int Volunteers, int Rounds, string Preset, string DataDirectory, string Byzantine, string Rule, int CorpusOrder)
{
    /// <summary>The demo's dashboard port; 0 takes any free port (the URL is printed at start).</summary>
    public int DashboardPort { get; init; } // dashboard hook (issue 14)

    // ---- Real text (issue 13) ----

    /// <summary>Corpus folder to train on (resolved from --data); null trains the synthetic corpus.</summary>
    public string? Data { get; init; }

    /// <summary>After the sharded run, train the same model centrally on the accepted units' tokens and compare (real text only).</summary>
    public bool CompareCentral { get; init; }

    /// <summary>
    /// The real-text demo's preset when none is asked for. With GPT-2's 50,257-token vocabulary the output layer dominates a step:
    /// `tiny` (6.6M parameters, nearly all in the embedding and the head) takes a few seconds per 8 × 64-token step on one core here,
    /// `small` 8 s or more, too slow for a demo on 2 cores; `tiny-wide` (twice the width and context, twice the step) did no better in
    /// session 9's 8 rounds (docs/benchmarks/data.md).
    /// </summary>
    public const string TextPreset = "tiny";

    /// <summary>Inner steps per unit (H); null takes the demo's default for the corpus.</summary>
    public int? InnerSteps { get; init; }

    /// <summary>The units' AdamW learning rate; null takes the demo's default for the corpus.</summary>
    public double? InnerLearningRate { get; init; }

    /// <summary>The outer step's momentum; null takes the demo's default for the corpus.</summary>
    public double? OuterMomentum { get; init; }

    /// <summary>Seed of θ_0 and of every unit's data draw.</summary>
    public long Seed { get; init; } = 1;

    public static DemoSettings Default { get; } = new(3, 20, "small", Path.Combine(Path.GetTempPath(), "hivemind-demo"), "", "mean", 1);
}
