namespace Hivemind.Coordinator.Verification;

/// <summary>
/// When a recomputation disagrees: any tensor group farther than <see cref="MaxRelativeL2"/> or with a cosine below
/// <see cref="MinCosine"/>. Defaults come from the calibration in docs/verification.md.
/// </summary>
public sealed record SpotCheckThresholds(double MaxRelativeL2, double MinCosine)
{
    /// <summary>True when the divergence is within what honest recomputations on other kernel paths show.</summary>
    public bool Passes(UpdateDivergence divergence) =>
        divergence.WorstRelativeL2 <= MaxRelativeL2 && divergence.WorstCosine >= MinCosine;
}
