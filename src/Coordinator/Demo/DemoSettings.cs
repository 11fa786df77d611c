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
    /// The real-text demo's preset when none is asked for: `tiny` at twice the width and context. With GPT-2's 50,257-token vocabulary
    /// the output layer dominates a step, so `tiny-wide` costs about twice `tiny`'s step for 4 times the parameters in its blocks; `tiny`
    /// levelled off above zstd -19 (3.1–3.25 bits per byte from 307,200 to 552,960 tokens), `small` takes 8 s or more per step on 2 cores
    /// (docs/benchmarks/data.md, session 9).
    /// </summary>
    public const string TextPreset = "tiny-wide";

    /// <summary>The real-text demo's rounds when --rounds is not given: 8 rounds of 3 × 50 steps of 512 tokens (614,400 tokens).</summary>
    public const int TextRounds = 8;

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
