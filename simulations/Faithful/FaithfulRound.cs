namespace Hivemind.Simulations.Faithful;

/// <summary>One closed round of a faithful run: what the real engine reported plus the virtual time it took.</summary>
/// <param name="Round">Round index.</param>
/// <param name="Updates">Updates the engine aggregated.</param>
/// <param name="TrainLoss">Token-weighted mean train loss the updates claimed.</param>
/// <param name="EvalLoss">Held-out loss after the outer step (nats/byte).</param>
/// <param name="RoundSeconds">Virtual seconds from this round's open to the next round's open.</param>
/// <param name="ComputeSeconds">Mean compute seconds of the accepted units.</param>
/// <param name="TransferSeconds">Mean download + upload seconds of the accepted units.</param>
/// <param name="WaitSeconds">Mean seconds an accepted unit waited for the round to close.</param>
/// <param name="CloseSeconds">Modelled aggregation + evaluation seconds at the coordinator.</param>
/// <param name="AggregationWallSeconds">Measured wall time of the real aggregation (not deterministic; never in report.md).</param>
public sealed record FaithfulRound(
    long Round, int Updates, double TrainLoss, double EvalLoss, double RoundSeconds,
    double ComputeSeconds, double TransferSeconds, double WaitSeconds, double CloseSeconds, double AggregationWallSeconds);
