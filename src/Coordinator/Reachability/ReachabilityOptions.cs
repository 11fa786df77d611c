namespace Hivemind.Coordinator.Reachability;

/// <summary>How the coordinator's dial-back self-test is bounded.</summary>
/// <param name="DialTimeout">How long one dial waits for the TCP handshake. A home link answers in well under a second; 3 s allows for a slow one.</param>
/// <param name="PerCallerInterval">One check per caller address per interval, so the coordinator cannot be made to hammer anyone.</param>
/// <param name="MaxChecksPerWindow">Checks allowed per <see cref="Window"/> over all callers, bounding the coordinator's outbound dials.</param>
/// <param name="Window">The window for <see cref="MaxChecksPerWindow"/>.</param>
public sealed record ReachabilityOptions(TimeSpan DialTimeout, TimeSpan PerCallerInterval, int MaxChecksPerWindow, TimeSpan Window)
{
    /// <summary>3 s dial, one check per address per minute, 60 checks per minute in all.</summary>
    public static ReachabilityOptions Default { get; } = new(TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(1), 60, TimeSpan.FromMinutes(1));

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad value.</summary>
    public void Validate()
    {
        if (DialTimeout <= TimeSpan.Zero) throw new ArgumentException($"Reachability dial timeout {DialTimeout} must be positive.", nameof(DialTimeout));
        if (PerCallerInterval < TimeSpan.Zero) throw new ArgumentException($"Reachability per-caller interval {PerCallerInterval} must not be negative.", nameof(PerCallerInterval));
        if (MaxChecksPerWindow < 1) throw new ArgumentException($"Reachability checks per window {MaxChecksPerWindow} must be at least 1.", nameof(MaxChecksPerWindow));
        if (Window <= TimeSpan.Zero) throw new ArgumentException($"Reachability window {Window} must be positive.", nameof(Window));
    }
}
