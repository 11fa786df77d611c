namespace Hivemind.Simulations.Scale;

/// <summary>One simulated round: when it opened and closed, what came back, and where an accepted volunteer's time went.</summary>
public sealed record RoundRecord(
    int Round,
    double OpenSeconds,
    double CloseSeconds,
    double AggregationSeconds,
    int Assigned,
    int Accepted,
    int LostToChurn,
    int Abandoned,
    CloseReason Reason,
    double MeanComputeSeconds,
    double MeanTransferSeconds,
    double MeanWaitSeconds)
{
    /// <summary>Open to next open: collection plus aggregation.</summary>
    public double DurationSeconds => CloseSeconds - OpenSeconds + AggregationSeconds;
}
