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

    /// <summary>Spot checks the coordinator ran (passed, failed or not computable): units it trained again.</summary>
    public int SpotChecksRun { get; init; }

    /// <summary>Failed spot checks of honest volunteers' updates (false positives; must be 0).</summary>
    public int HonestFlagged { get; init; }

    /// <summary>Byzantine keys banned by a failed spot check.</summary>
    public int CaughtByzantine { get; init; }

    /// <summary>Rounds until the last Byzantine key was banned by a check (1 = in the first round); null while one is still unbanned.</summary>
    public int? RoundsToBanAll { get; init; }

    /// <summary>Updates of Byzantine keys the engine accepted (every submit-path check passed).</summary>
    public int ByzantineAccepted { get; init; }

    /// <summary>Accepted Byzantine updates dropped again by a failed check before their round closed.</summary>
    public int ByzantineDropped { get; init; }

    /// <summary>Byzantine updates that reached an aggregate: accepted and not dropped.</summary>
    public int ByzantineAggregated => ByzantineAccepted - ByzantineDropped;

    /// <summary>Extra coordinator compute: units recomputed per accepted unit (every accepted update, dropped ones included).</summary>
    public double RecomputedShare => AcceptedSubmissions == 0 ? 0 : (double)SpotChecksRun / AcceptedSubmissions;

    /// <summary>Virtual compute seconds of the units the engine accepted (training that counts), over all volunteers.</summary>
    public double TrainingSeconds { get; init; }

    /// <summary>Eager units (issue 16) the engine leased.</summary>
    public int EagerUnits { get; init; }

    /// <summary>Fraction of the volunteers' wall time spent training: <see cref="TrainingSeconds"/> ÷ (volunteers × <see cref="VirtualSeconds"/>).</summary>
    public double Utilization => VirtualSeconds <= 0 ? double.NaN : TrainingSeconds / (Config.Volunteers * VirtualSeconds);

    /// <summary>Submissions the engine accepted, including those a failed check dropped later.</summary>
    public int AcceptedSubmissions { get; init; }

    /// <summary>
    /// Rounds closed before the run stalled: a round passed its deadline several times with too few accepted updates to close (every
    /// honest update refused), so training stopped there; null when it did not stall. The final loss is the last closed round's.
    /// </summary>
    public int? StalledAtRound { get; init; }

    /// <summary>Most units the run held at once for its open round (in flight, plus the attacker's copies of honest updates): bounded by the round's units.</summary>
    public int PeakUnitsHeld { get; init; }

    /// <summary>Units whose update the engine rejected and then handed back to their volunteer (lease still live), which it did not retrain.</summary>
    public int RepeatsSkipped { get; init; }

    /// <summary>Trainings of honest (and label-flipping) volunteers' units.</summary>
    public int Trainings { get; init; }

    /// <summary>Distinct work units among <see cref="Trainings"/>: equal to it when no unit is trained twice.</summary>
    public int DistinctUnitsTrained { get; init; }

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
