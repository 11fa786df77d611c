namespace Hivemind.Simulations.Calibration;

/// <summary>What one check-timing case measured and predicted, per round.</summary>
/// <param name="Case">The case.</param>
/// <param name="Volunteers">Volunteer clients (the quorum).</param>
/// <param name="MeasuredSeconds">Mean wall seconds per round of the real run (warm-up skipped).</param>
/// <param name="PredictedSeconds">The faithful simulator's round with the clients' poll delay (<see cref="TimingComparison.PredictedRoundSeconds"/>).</param>
/// <param name="ComputeSeconds">Modelled compute per unit.</param>
/// <param name="TransferSeconds">Modelled download + upload per unit.</param>
/// <param name="WaitSeconds">The rest of the simulated round: the participant draw window the volunteers wait out before leasing.</param>
/// <param name="CloseSeconds">Modelled close (aggregation + evaluation).</param>
/// <param name="PollSeconds">Clients' expected poll delay.</param>
/// <param name="MeasuredBytesPerUnit">Bytes the throttled links carried per unit, down + up, framing included (0 without a link).</param>
/// <param name="ModelledBytesPerUnit">Bytes the simulator moved per unit, down + up (the real codec's sizes).</param>
public sealed record TimingCaseResult(
    TimingCase Case, int Volunteers, double MeasuredSeconds, double PredictedSeconds, double ComputeSeconds, double TransferSeconds,
    double WaitSeconds, double CloseSeconds, double PollSeconds, double MeasuredBytesPerUnit, double ModelledBytesPerUnit)
{
    /// <summary>|predicted − measured| ÷ measured.</summary>
    public double Error => TimingComparison.RelativeError(PredictedSeconds, MeasuredSeconds);

    /// <summary>Share of the predicted round spent computing.</summary>
    public double ComputeShare => ComputeSeconds / PredictedSeconds;

    /// <summary>Share of the predicted round spent moving bytes.</summary>
    public double TransferShare => TransferSeconds / PredictedSeconds;
}
