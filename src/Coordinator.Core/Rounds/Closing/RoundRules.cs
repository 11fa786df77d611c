namespace Hivemind.Coordinator.Rounds.Closing;

/// <summary>The operator's choices a round close applies: the robust rules and how many holders an expert group needs.</summary>
public sealed record RoundRules(string TrunkRule, string ExpertRule, int Replication, int MinExpertHolders)
{
    /// <summary>The rules of a running coordinator.</summary>
    public static RoundRules From(CoordinatorOptions options) =>
        new(options.TrunkRule, options.ExpertRule, options.Replication, options.MinExpertHolders);

    /// <summary>The spec that aggregates <paramref name="groupKey"/>.</summary>
    public string RuleFor(string groupKey) => groupKey == TensorGroups.Trunk ? TrunkRule : ExpertRule;
}
