namespace Hivemind.Simulations.Scale;

/// <summary>What a scale run measured: per-round records and the totals the reports print.</summary>
public sealed record ScaleResult(
    IReadOnlyList<RoundRecord> Rounds,
    double TotalSeconds,
    double ComputeSeconds,
    double TransferSeconds,
    double WaitSeconds,
    double AggregationSeconds,
    double AcceptedComputeVolunteerSeconds,
    double OnlineVolunteerSeconds,
    double Tokens,
    double Bytes,
    int UnitsAccepted,
    int UnitsLostToChurn,
    int UnitsAbandoned,
    double CoordinatorEgressBytes)
{
    /// <summary>Most bytes the coordinator held in any round: the resident model and the round's decoded updates at its close.</summary>
    public double PeakCoordinatorMemoryBytes { get; init; }

    /// <summary>Rounds whose quorum was more than the coordinator's memory holds, so they closed at the memory bound.</summary>
    public int MemoryBoundRounds { get; init; }

    /// <summary>Bytes the coordinator sent per round (downloads it served itself; relays carry the rest).</summary>
    public double CoordinatorEgressPerRound => Rounds.Count == 0 ? 0 : CoordinatorEgressBytes / Rounds.Count;

    /// <summary>Mean open-to-open round time.</summary>
    public double MeanRoundSeconds => Rounds.Count == 0 ? 0 : TotalSeconds / Rounds.Count;

    /// <summary>Useful (accepted) compute over the compute time volunteers offered while online.</summary>
    public double ComputeUtilization => OnlineVolunteerSeconds > 0 ? AcceptedComputeVolunteerSeconds / OnlineVolunteerSeconds : 0;

    /// <summary>Tokens in accepted updates per virtual second.</summary>
    public double TokensPerSecond => TotalSeconds > 0 ? Tokens / TotalSeconds : 0;

    /// <summary>Bytes moved (all downloads, accepted uploads) per accepted token; NaN when nothing was accepted.</summary>
    public double BytesPerToken => Tokens > 0 ? Bytes / Tokens : double.NaN;

    /// <summary>Share of the round time an accepted volunteer computes.</summary>
    public double ComputeShare => Share(ComputeSeconds);

    /// <summary>Share spent downloading and uploading.</summary>
    public double TransferShare => Share(TransferSeconds);

    /// <summary>Share spent waiting for the round to close.</summary>
    public double WaitShare => Share(WaitSeconds);

    /// <summary>Share spent waiting for aggregation.</summary>
    public double AggregationShare => Share(AggregationSeconds);

    private double Share(double part) => TotalSeconds > 0 ? part / TotalSeconds : 0;
}
