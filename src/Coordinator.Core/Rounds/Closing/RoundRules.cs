namespace Hivemind.Coordinator.Rounds.Closing;

/// <summary>
/// The operator's choices a round close applies: the robust rules, how many holders an expert group needs, and how many inputs of
/// keys on probation an expert group takes (<paramref name="ProbationSlots"/>, or as many as its established holders leave short of
/// <paramref name="MinExpertHolders"/>, so a new crowd can still train experts).
/// </summary>
public sealed record RoundRules(string TrunkRule, string ExpertRule, int Replication, int MinExpertHolders, int ProbationSlots = int.MaxValue)
{
    /// <summary>The budget of the close's parallel loops (<see cref="CoordinatorOptions.CloseParallelism"/>); null uses every core.</summary>
    public ParallelOptions? Parallelism { get; init; }

    /// <summary>The rules of a running coordinator.</summary>
    public static RoundRules From(CoordinatorOptions options) =>
        new(options.TrunkRule, options.ExpertRule, options.Replication, options.MinExpertHolders, options.ProbationSlots)
        {
            Parallelism = new ParallelOptions { MaxDegreeOfParallelism = options.CloseParallelism },
        };

    /// <summary>The spec that aggregates <paramref name="groupKey"/>.</summary>
    public string RuleFor(string groupKey) => groupKey == TensorGroups.Trunk ? TrunkRule : ExpertRule;
}
