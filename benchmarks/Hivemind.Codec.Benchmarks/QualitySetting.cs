namespace Hivemind.Codec.Benchmarks;

/// <summary>Where an update's error-feedback residual lives in a quality run.</summary>
internal enum ResidualMode
{
    /// <summary>On the volunteer, kept across its units (the shipped design).</summary>
    Volunteer,
    /// <summary>None: what a sparse update leaves out is dropped (only the outer momentum smooths).</summary>
    None,
    /// <summary>On the volunteer, but after each unit the volunteer is replaced by a newcomer with probability <see cref="QualitySetting.ChurnProbability"/>: residual and held parameters are lost.</summary>
    Churn,
}

/// <summary>One point of the frontier: update codec and density up, download codec and density, residual placement.</summary>
internal sealed record QualitySetting(string Name, string Up, double UpDensity, string Down, double DownDensity, ResidualMode Residual,
    double OuterLearningRate = 0.7, double OuterMomentum = 0.9)
{
    /// <summary>Chance per unit that a volunteer leaves and a newcomer takes its place (Churn mode).</summary>
    public const double ChurnProbability = 0.25;

    public static readonly QualitySetting Baseline = new("fp32 up, full down", "fp32", 0.02, "full", 0.02, ResidualMode.None);

    public static IReadOnlyList<QualitySetting> All { get; } =
    [
        Baseline,
        new("topk4 3% / full", "topk4", 0.03, "full", 0.03, ResidualMode.Volunteer),
        new("topk4 3% / steps 3%", "topk4", 0.03, "topk4", 0.03, ResidualMode.Volunteer),
        new("topk4 3% / steps 12%", "topk4", 0.03, "topk4", 0.12, ResidualMode.Volunteer),
        new("topk2 1% / steps 1%", "topk2", 0.01, "topk2", 0.01, ResidualMode.Volunteer),
        new("topk4 3% / steps 3%, no residual", "topk4", 0.03, "topk4", 0.03, ResidualMode.None),
        new("topk4 3% / steps 3%, churn 25%", "topk4", 0.03, "topk4", 0.03, ResidualMode.Churn),
    ];
}
