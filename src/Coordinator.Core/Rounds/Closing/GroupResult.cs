namespace Hivemind.Coordinator.Rounds.Closing;

/// <summary>What a round did to one tensor group: how many accepted updates held it, and why it was left unchanged if it was.</summary>
public sealed record GroupResult(string Key, int Holders, string? SkipReason)
{
    /// <summary>Inputs of keys on probation left out of this group beyond its probation share (they still count for the trunk).</summary>
    public int ProbationLeftOut { get; init; }

    /// <summary>True when the group's aggregate went into the outer step.</summary>
    public bool Updated => SkipReason is null;

    /// <summary>The round log's form: "expert.0.3 (2 of 3 holders)".</summary>
    public override string ToString() => Updated ? $"{Key} ({Holders} holders)" : $"{Key} ({SkipReason})";
}
