using Hivemind.Simulations.Faithful;

namespace Hivemind.Simulations.Reports;

/// <summary>Reads an attack-matrix cell against its no-attack reference: did the aggregator hold?</summary>
public static class AttackVerdict
{
    /// <summary>An aggregator "holds" when the attacked final gap to the optimum is at most this many times the unattacked one.</summary>
    public const double HeldGapRatio = 1.1;

    /// <summary>The attacked gap over the reference gap.</summary>
    public static double GapRatio(FaithfulResult attacked, FaithfulResult reference) => attacked.FinalGap / reference.FinalGap;

    /// <summary>"held" or "broken", from <see cref="HeldGapRatio"/>.</summary>
    public static string Of(FaithfulResult attacked, FaithfulResult reference) =>
        GapRatio(attacked, reference) <= HeldGapRatio ? "held" : "broken";
}
