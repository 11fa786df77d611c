namespace Hivemind.Coordinator.Rounds.Closing;

/// <summary>
/// The outcome of <see cref="RoundAggregation.Decide"/>: the next model state, what happened to each group that had holders, the
/// reputation each contributor earns (a delta, never negative: distance from the aggregate does not cost reputation) and the
/// weighted mean training loss (NaN without updates). <see cref="Delta"/> is the aggregated pseudo-gradient the outer step took
/// (the ledger summarises it per group).
/// </summary>
public sealed record RoundDecision(
    RoundModelState Next,
    Hivemind.Protocol.Tensors.ParameterSet Delta,
    IReadOnlyList<GroupResult> Groups,
    IReadOnlyDictionary<string, double> ReputationDeltas,
    double TrainLoss,
    int UnderReplicatedGroups)
{
    /// <summary>Groups left unchanged (too few holders for a robust aggregate), in the round log's form.</summary>
    public IReadOnlyList<string> SkippedGroups => [.. Groups.Where(g => !g.Updated).Select(g => g.ToString())];
}
