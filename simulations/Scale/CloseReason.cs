namespace Hivemind.Simulations.Scale;

/// <summary>Why a round closed.</summary>
public enum CloseReason
{
    /// <summary>Enough updates arrived.</summary>
    Quorum,

    /// <summary>Every assigned unit came back or was lost to churn before quorum.</summary>
    NothingOutstanding,

    /// <summary>The deadline passed.</summary>
    Deadline,
}
