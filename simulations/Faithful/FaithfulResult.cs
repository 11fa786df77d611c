namespace Hivemind.Simulations.Faithful;

/// <summary>What one faithful run measured.</summary>
public sealed record FaithfulResult(
    FaithfulConfig Config,
    double InitialLoss,
    double OptimalLoss,
    IReadOnlyList<FaithfulRound> Rounds,
    long BytesDown,
    long BytesUp,
    int UnitsLeased,
    int UnitsLostToChurn,
    IReadOnlyDictionary<string, int> Rejections,
    int BannedVolunteers,
    double MeanHoldersPerExpert,
    double TrainingWallSeconds,
    bool Diverged = false)
{
    /// <summary>Banned keys that belonged to Byzantine volunteers (the rest of <see cref="BannedVolunteers"/> were honest).</summary>
    public int BannedByzantine { get; init; }

    /// <summary>Keys the Byzantine volunteers joined with.</summary>
    public int ByzantineKeys { get; init; }

    /// <summary>Banned keys of honest volunteers.</summary>
    public int BannedHonest => BannedVolunteers - BannedByzantine;

    /// <summary>Accepted updates trained from a version older than the round that aggregated them (from the engine's ledger).</summary>
    public int LateAccepted { get; init; }

    /// <summary>Largest round − version among accepted updates: how many rounds late the latest-arriving aggregated update was.</summary>
    public int MaxLag { get; init; }

    /// <summary>Updates the engine rejected as stale-round (from the engine's rejection counts).</summary>
    public int StaleRejected { get; init; }

    /// <summary>Held-out loss after the last round; +∞ when the model diverged (honest volunteers could no longer train it).</summary>
    public double FinalLoss => Diverged ? double.PositiveInfinity : Rounds.Count == 0 ? InitialLoss : Rounds[^1].EvalLoss;

    /// <summary>Final loss minus the corpus optimum.</summary>
    public double FinalGap => FinalLoss - OptimalLoss;

    /// <summary>Virtual seconds of the whole run.</summary>
    public double VirtualSeconds => Rounds.Sum(r => r.RoundSeconds);

    /// <summary>Mean virtual round time.</summary>
    public double MeanRoundSeconds => Rounds.Count == 0 ? double.NaN : Rounds.Average(r => r.RoundSeconds);

    /// <summary>Accepted updates over all rounds.</summary>
    public int UnitsAccepted => Rounds.Sum(r => r.Updates);

    /// <summary>Rejected updates over all reasons.</summary>
    public int UnitsRejected => Rejections.Values.Sum();
}
