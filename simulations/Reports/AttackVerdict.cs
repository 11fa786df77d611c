using Hivemind.Simulations.Faithful;

namespace Hivemind.Simulations.Reports;

/// <summary>
/// Reads an attack-matrix cell against its no-attack reference over seeds: a verdict is stated only where the 95% interval
/// of the paired gap ratio supports it, else "inconclusive".
/// </summary>
public static class AttackVerdict
{
    /// <summary>An aggregator "held" when the attacked final gap to the optimum is at most this many times the unattacked one.</summary>
    public const double HeldGapRatio = 1.1;

    /// <summary>The whole interval is at or below <see cref="HeldGapRatio"/>.</summary>
    public const string Held = "held";

    /// <summary>The whole interval is above <see cref="HeldGapRatio"/> (or every seed diverged).</summary>
    public const string Broke = "broke";

    /// <summary>The interval straddles <see cref="HeldGapRatio"/>, or there is a single seed.</summary>
    public const string Inconclusive = "inconclusive";

    /// <summary>A cell's attackers count as banned when the interval of the banned share of their keys lies above this.</summary>
    public const double BannedShare = 0.5;

    /// <summary>The attacked gap over the reference gap (same seed).</summary>
    public static double GapRatio(FaithfulResult attacked, FaithfulResult reference) => attacked.FinalGap / reference.FinalGap;

    /// <summary>Paired gap ratios over the seeds both runs have.</summary>
    public static IReadOnlyList<double> Ratios(IEnumerable<FaithfulRun> attacked, IEnumerable<FaithfulRun> reference)
    {
        var bySeed = reference.ToDictionary(r => r[FaithfulRun.SeedAxis], r => r.Result, StringComparer.Ordinal);
        return attacked.Where(a => bySeed.ContainsKey(a[FaithfulRun.SeedAxis]))
            .Select(a => GapRatio(a.Result, bySeed[a[FaithfulRun.SeedAxis]])).ToList();
    }

    /// <summary>held, broke or inconclusive from the paired ratios.</summary>
    public static string Of(IReadOnlyList<double> ratios)
    {
        if (ratios.Count > 0 && ratios.All(double.IsPositiveInfinity)) return Broke;
        var i = Interval.Of(ratios);
        if (!i.HasInterval) return Inconclusive;
        return i.High <= HeldGapRatio ? Held : i.Low > HeldGapRatio ? Broke : Inconclusive;
    }

    /// <summary>Whether the interval of the banned share of attacker keys lies above <see cref="BannedShare"/>.</summary>
    public static bool BannedTheAttackers(IReadOnlyList<FaithfulResult> runs)
    {
        var share = Interval.Of(runs.Where(r => r.ByzantineKeys > 0).Select(r => (double)r.BannedByzantine / r.ByzantineKeys).ToList());
        return share.HasInterval && share.Low > BannedShare;
    }
}
