using System.Globalization;

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

    /// <summary>Density given to a codec that takes none (dense codecs ignore it; options still validate it).</summary>
    private const double UnusedDensity = 0.02;

    public static readonly QualitySetting Baseline = new("fp32 up, full down", "fp32", UnusedDensity, "full", UnusedDensity, ResidualMode.None);

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

    /// <summary>
    /// A named setting of <see cref="All"/>, or a spec "up/down[/outer-lr/outer-momentum]": up is fp32, fp16, int8 or topk4:density /
    /// topk2:density (e.g. topk4:0.25), down is full, int8, fp16 or topk4:density / topk2:density; the residual lives on the volunteer; the outer
    /// optimizer is DiLoCo's 0.7 / 0.9 unless given.
    /// </summary>
    public static QualitySetting Parse(string text)
    {
        if (All.FirstOrDefault(s => s.Name == text) is { } named) return named;
        var parts = text.Split('/');
        if (parts.Length is not (2 or 4))
            throw new ArgumentException($"setting '{text}' is neither a named setting ({string.Join("; ", All.Select(s => s.Name))}) nor a spec 'up/down[/outer-lr/outer-momentum]' such as topk4:0.25/topk4:0.25 or topk4:0.06/topk4:0.06/1/0.");
        var (up, upDensity) = Codec(parts[0], text);
        var (down, downDensity) = Codec(parts[1], text);
        if (down == "fp32")
            throw new ArgumentException($"setting '{text}': an fp32 download is 'full' (an fp32 step is as large as the shard).");
        string name = $"{Label(up, upDensity)} / {(down == "full" ? "full" : "steps " + Label(down, downDensity))}";
        if (parts.Length == 2) return new QualitySetting(name, up, upDensity, down, downDensity, ResidualMode.Volunteer);
        var c = CultureInfo.InvariantCulture;
        if (!double.TryParse(parts[2], NumberStyles.Float, c, out double lr) || !(lr > 0) || !double.TryParse(parts[3], NumberStyles.Float, c, out double momentum) || momentum is not (>= 0 and < 1))
            throw new ArgumentException($"setting '{text}': outer learning rate '{parts[2]}' must be > 0 and outer momentum '{parts[3]}' in [0, 1) (DiLoCo: 0.7/0.9).");
        return new QualitySetting($"{name}, outer {parts[2]}/{parts[3]}", up, upDensity, down, downDensity, ResidualMode.Volunteer, lr, momentum);
    }

    private static (string Codec, double Density) Codec(string part, string text)
    {
        var bits = part.Trim().Split(':');
        string codec = bits[0];
        bool sparse = codec is "topk4" or "topk2";
        if (bits.Length > 2 || sparse != (bits.Length == 2) || !(sparse || codec is "fp32" or "fp16" or "int8" or "full"))
            throw new ArgumentException($"setting '{text}': '{part}' is not fp32, fp16, int8, full or topk4:density / topk2:density (e.g. topk4:0.06).");
        if (!sparse) return (codec, UnusedDensity);
        if (!double.TryParse(bits[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double density) || density is not (> 0 and <= 0.25))
            throw new ArgumentException($"setting '{text}': density '{bits[1]}' must be a number in (0, 0.25] (0.06 keeps 6%).");
        return (codec, density);
    }

    private static string Label(string codec, double density) =>
        codec is "topk4" or "topk2" ? $"{codec} {(density * 100).ToString("0.#", CultureInfo.InvariantCulture)}%" : codec;
}
