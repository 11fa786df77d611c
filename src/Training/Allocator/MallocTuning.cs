namespace Hivemind.Training.Allocator;

/// <summary>
/// Decides whether a training process should restart itself with glibc's allocator tuned for libtorch (a pure function of
/// the environment; <see cref="MallocRelaunch"/> does the restart).
/// </summary>
/// <remarks>
/// A training step frees its activations when its dispose scope ends and allocates the same sizes next step. With glibc's
/// defaults that memory goes back to the kernel (adaptive mmap threshold, 128 KiB trim threshold, per-thread arenas whose
/// 64 MiB heaps are created and unmapped), so every step re-faults it: 5–14 thousand minor faults and 10–15% of the CPU
/// time per <c>small</c> step (docs/benchmarks/training.md). glibc reads these settings only at process start
/// (<c>mallopt</c> later cannot move a thread that already has its own arena), hence a restart with
/// <c>GLIBC_TUNABLES</c> set.
/// </remarks>
public static class MallocTuning
{
    /// <summary>The variable glibc's dynamic loader reads its tunables from, once, at process start.</summary>
    public const string TunablesVariable = "GLIBC_TUNABLES";

    /// <summary>Set in the restarted process so that it can never restart again, whatever glibc made of the tunables.</summary>
    public const string GuardVariable = "HIVEMIND_MALLOC_RELAUNCHED";

    /// <summary>The user's switch: <c>off</c> keeps glibc's defaults (no restart), <c>on</c> (the default) tunes.</summary>
    public const string SwitchVariable = "HIVEMIND_MALLOC_TUNING";

    /// <summary>Freed memory below this stays in the process for the next step instead of going back to the kernel (1 GiB).</summary>
    public const long TrimThresholdBytes = 1L << 30;

    /// <summary>Blocks below this come from the heap, not a fresh mmap (32 MiB, glibc's maximum on 64-bit: activations of <c>small</c> and <c>base</c> fit).</summary>
    public const long MmapThresholdBytes = 32L << 20;

    /// <summary>One arena: libtorch's worker threads otherwise each get a 64 MiB heap that glibc creates and unmaps every step.</summary>
    public const int ArenaMax = 1;

    /// <summary>The settings, in <c>GLIBC_TUNABLES</c> syntax order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Recommended { get; } =
    [
        new("glibc.malloc.trim_threshold", TrimThresholdBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("glibc.malloc.mmap_threshold", MmapThresholdBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("glibc.malloc.arena_max", ArenaMax.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    /// <summary>The recommended settings alone, as a <c>GLIBC_TUNABLES</c> value.</summary>
    public static string RecommendedTunables { get; } = Merge(null);

    private static readonly string[] OnValues = ["", "on", "1", "true"];
    private static readonly string[] OffValues = ["off", "0", "false"];

    /// <summary>
    /// The plan for a process whose environment is <paramref name="environment"/> (null = unset) on a glibc system or not.
    /// A <c>GLIBC_TUNABLES</c> the user set is kept: their values win, and only the settings it lacks are added.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="SwitchVariable"/> holds something other than on/off.</exception>
    public static MallocTuningPlan Decide(Func<string, string?> environment, bool isGlibc)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? current = environment(TunablesVariable);
        string choice = (environment(SwitchVariable) ?? "").Trim().ToLowerInvariant();
        if (OffValues.Contains(choice))
            return new(false, current, false, $"malloc tuning off ({SwitchVariable}={environment(SwitchVariable)}): glibc's defaults, which re-fault training memory every step.");
        if (!OnValues.Contains(choice))
            throw new ArgumentException($"{SwitchVariable}='{environment(SwitchVariable)}' is neither on nor off; unset it (or set it to on) to tune glibc's allocator for training, or set it to off to keep glibc's defaults.");
        if (!isGlibc)
            return new(false, current, false, "malloc tuning skipped: this C library is not glibc, so GLIBC_TUNABLES means nothing to it.");
        string wanted = Merge(current);
        if (wanted == (current ?? ""))
        {
            string how = environment(GuardVariable) is null ? "" : " (this process restarted itself with it)";
            return new(false, current, true, $"malloc tuning on: {TunablesVariable}={current}{how}; set {SwitchVariable}=off to keep glibc's defaults.");
        }
        if (environment(GuardVariable) is not null)
            return new(false, current, false, $"malloc tuning not in force although this process was restarted for it ({TunablesVariable}={current ?? "(unset)"}); going on with glibc's defaults.");
        return new(true, wanted, true, $"malloc tuning on after a restart: {TunablesVariable}={wanted}; set {SwitchVariable}=off to keep glibc's defaults.");
    }

    /// <summary><paramref name="current"/> with every recommended setting it lacks appended (its own values are kept).</summary>
    public static string Merge(string? current)
    {
        var parts = string.IsNullOrEmpty(current) ? new List<string>() : [.. current.Split(':')];
        var present = parts.Select(p => p.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in Recommended)
            if (!present.Contains(name))
                parts.Add($"{name}={value}");
        return string.Join(':', parts);
    }

    /// <summary>Makes a child process start tuned (unless the user switched tuning off), so that it needs no restart of its own.</summary>
    public static void ApplyTo(System.Diagnostics.ProcessStartInfo start, Func<string, string?> environment, bool isGlibc)
    {
        ArgumentNullException.ThrowIfNull(start);
        var plan = Decide(environment, isGlibc);
        if (plan.Relaunch) start.Environment[TunablesVariable] = plan.Tunables;
    }
}
