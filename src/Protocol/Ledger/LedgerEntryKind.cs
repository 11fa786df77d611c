namespace Hivemind.Protocol.Ledger;

/// <summary>What a ledger entry records. Values are part of the entry bytes: never renumber, only add.</summary>
public enum LedgerEntryKind : byte
{
    /// <summary>A key was admitted (joined or rejoined).</summary>
    Join = 1,

    /// <summary>A work unit was leased to a volunteer.</summary>
    Lease = 2,

    /// <summary>An update passed every check and was recorded for aggregation.</summary>
    Accept = 3,

    /// <summary>An attributable submission was refused (the reason token says why).</summary>
    Reject = 4,

    /// <summary>A key was banned.</summary>
    Ban = 5,

    /// <summary>A round closed: what was aggregated, per tensor group, and the new model version's hash.</summary>
    Round = 6,

    /// <summary>A spot check (recomputation) of an accepted update passed or failed.</summary>
    SpotCheck = 7,
}
