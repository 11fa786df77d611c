namespace Hivemind.Coordinator.Verification;

/// <summary>What came of a spot check.</summary>
public enum SpotCheckVerdict
{
    /// <summary>The recomputation agrees within the calibrated tolerance.</summary>
    Passed,

    /// <summary>The recomputation disagrees: evidence is kept and the key is banned.</summary>
    Failed,

    /// <summary>Drawn for a check but not checked: the check queue was full (a busy coordinator never blocks a submission).</summary>
    Skipped,

    /// <summary>The coordinator could not recompute (e.g. the start version's checkpoint was pruned); nothing is held against the key.</summary>
    Error,
}
