using System.Globalization;
using System.Text;
using Hivemind.Coordinator.Verification;

namespace Hivemind.Coordinator.SpotChecks;

/// <summary>The calibration's table (per class: count, min/median/max of the worst-group divergence, detection) and its verdict.</summary>
public sealed class CalibrationReport
{
    /// <summary>The proposed threshold sits this many times farther from perfect agreement than the worst honest recomputation.</summary>
    public const double Margin = 2.0;

    /// <summary>Detection a separable class must reach (the issue's bar).</summary>
    public const double RequiredDetection = 0.99;

    /// <summary>
    /// Classes the calibration shows separable from honest noise (docs/verification.md): the command fails if any is detected
    /// less often than <see cref="RequiredDetection"/>. Noise of 0.01 % of an update's RMS is not: it sits below the threshold, and so does its damage.
    /// </summary>
    public static readonly IReadOnlyList<string> Separable = ["sign-flip", "zero", "noise-1%", "noise-10%", "scale-1.1", "lazy", "other-data", "label-flip", "replay"];

    private readonly IReadOnlyList<CalibrationSample> _samples;

    public CalibrationReport(IReadOnlyList<CalibrationSample> samples, SpotCheckThresholds thresholds)
    {
        _samples = samples;
        Thresholds = thresholds;
        var honest = samples.Where(s => s.IsHonest).ToList();
        if (honest.Count == 0) throw new ArgumentException("the calibration produced no honest recomputations; give at least 2 kernel paths and 1 unit.");
        double worstL2 = honest.Max(s => s.Divergence.WorstRelativeL2);
        double worstCos = honest.Min(s => s.Divergence.WorstCosine);
        Proposed = new SpotCheckThresholds(Margin * worstL2, 1 - Margin * (1 - worstCos));
    }

    public SpotCheckThresholds Thresholds { get; }

    /// <summary>Thresholds this run's honest extremes suggest, with <see cref="Margin"/>.</summary>
    public SpotCheckThresholds Proposed { get; }

    public int HonestCount => _samples.Count(s => s.IsHonest);

    public int CheatCount => _samples.Count(s => !s.IsHonest);

    /// <summary>Honest recomputations the thresholds flag (must be none).</summary>
    public int FalsePositives => _samples.Count(s => s.IsHonest && !Thresholds.Passes(s.Divergence));

    /// <summary>Share of a class's recomputations the thresholds flag.</summary>
    public double Detection(string cls)
    {
        var of = _samples.Where(s => s.Class == cls).ToList();
        return of.Count == 0 ? double.NaN : of.Count(s => !Thresholds.Passes(s.Divergence)) / (double)of.Count;
    }

    /// <summary>Separable classes detected less often than required.</summary>
    public IReadOnlyList<string> Missed => [.. Separable.Where(c => _samples.Any(s => s.Class == c) && Detection(c) < RequiredDetection)];

    public bool Holds => FalsePositives == 0 && Missed.Count == 0;

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Thresholds checked: relative L2 ≤ {Thresholds.MaxRelativeL2:G4} and cosine ≥ {Thresholds.MinCosine:G6} in every tensor group.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Proposed from this run (margin {Margin:0.#}× the worst honest): relative L2 ≤ {Proposed.MaxRelativeL2:G4}, cosine ≥ {Proposed.MinCosine:G6}.");
        sb.AppendLine();
        sb.AppendLine("| class | count | rel. L2 min | median | max | cosine min | median | max | flagged |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var cls in _samples.Select(s => s.Class).Distinct())
        {
            var of = _samples.Where(s => s.Class == cls).ToList();
            var l2 = of.Select(s => s.Divergence.WorstRelativeL2).Order().ToArray();
            var cos = of.Select(s => s.Divergence.WorstCosine).Order().ToArray();
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {cls} | {of.Count} | {l2[0]:G3} | {l2[l2.Length / 2]:G3} | {l2[^1]:G3} | {cos[0]:G6} | {cos[cos.Length / 2]:G6} | {cos[^1]:G6} | {Detection(cls):P1} |");
        }
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Honest recomputations: {HonestCount}, false positives: {FalsePositives}. Cheating recomputations: {CheatCount}.");
        sb.AppendLine(Holds
            ? $"RESULT: holds (0 false positives; every separable class detected ≥ {RequiredDetection:P0})."
            : $"RESULT: FAILS ({FalsePositives} false positives; below {RequiredDetection:P0}: {(Missed.Count == 0 ? "none" : string.Join(", ", Missed))}).");
        return sb.ToString();
    }
}
