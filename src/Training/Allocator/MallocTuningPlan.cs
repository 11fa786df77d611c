namespace Hivemind.Training.Allocator;

/// <summary>What <see cref="MallocTuning.Decide"/> concluded: whether to restart the process under <paramref name="Tunables"/>, and the one line to log.</summary>
/// <param name="Relaunch">Restart this process (same program, arguments and environment) with <paramref name="Tunables"/> as <c>GLIBC_TUNABLES</c>.</param>
/// <param name="Tunables">The <c>GLIBC_TUNABLES</c> value to start with when <paramref name="Relaunch"/>; otherwise the current one (or null).</param>
/// <param name="Active">Whether glibc's allocator runs (or will run after the restart) with the recommended settings.</param>
/// <param name="Message">One line for the log saying what is in force and how to change it.</param>
public sealed record MallocTuningPlan(bool Relaunch, string? Tunables, bool Active, string Message);
