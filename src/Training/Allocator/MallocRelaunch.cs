using System.Runtime.InteropServices;

namespace Hivemind.Training.Allocator;

/// <summary>
/// Restarts the current process in place (<c>execve</c>: same process id, arguments, standard streams and environment)
/// with glibc's allocator tuned for training, when <see cref="MallocTuning.Decide"/> says so. Call it first thing in
/// <c>Main</c> of a training process, before any thread of ours or libtorch exists; never from a library or a test host.
/// </summary>
public static class MallocRelaunch
{
    /// <summary>
    /// Replaces the process image when a restart is due and returns only if none is (or <c>execve</c> failed); the returned
    /// plan's message is the line to log once.
    /// </summary>
    /// <exception cref="ArgumentException">The user's <see cref="MallocTuning.SwitchVariable"/> is neither on nor off.</exception>
    public static MallocTuningPlan RelaunchIfNeeded()
    {
        var plan = _decided = Current();
        if (!plan.Relaunch) return plan;
        string? path = Environment.ProcessPath;
        string[] argv = CommandLine();
        if (path is null || argv.Length == 0)
            return _decided = plan with { Relaunch = false, Active = false, Message = "malloc tuning not in force: cannot find this process's own command line to restart it." };
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => (string)e.Key is not (MallocTuning.TunablesVariable or MallocTuning.GuardVariable))
            .Select(e => $"{e.Key}={e.Value}")
            .Append($"{MallocTuning.TunablesVariable}={plan.Tunables}")
            .Append($"{MallocTuning.GuardVariable}=1")
            .ToArray();
        Console.Out.Flush();
        Console.Error.Flush();
        int errno = Exec(path, argv, environment);
        return _decided = plan with { Relaunch = false, Active = false, Message = $"malloc tuning not in force: restarting {path} failed (errno {errno}); going on with glibc's defaults. Start it with {MallocTuning.TunablesVariable}={plan.Tunables} to tune by hand." };
    }

    /// <summary>
    /// <see cref="RelaunchIfNeeded"/> for a <c>Main</c>: null to go on, or the exit code (2) after printing the error to
    /// standard error when the user's switch is malformed.
    /// </summary>
    public static int? RelaunchOrExitCode()
    {
        try
        {
            RelaunchIfNeeded();
            return null;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return MalformedSwitchExitCode;
        }
    }

    /// <summary>The exit code of a training process whose <see cref="MallocTuning.SwitchVariable"/> is malformed (a usage error).</summary>
    public const int MalformedSwitchExitCode = 2;

    private static MallocTuningPlan? _decided;

    /// <summary>
    /// The line to log once about the allocator: what <see cref="RelaunchIfNeeded"/> found, or, in a process that never
    /// called it (a test host running the volunteer in-process), whether the tuning happens to be in force.
    /// </summary>
    /// <exception cref="ArgumentException">The user's <see cref="MallocTuning.SwitchVariable"/> is neither on nor off.</exception>
    public static string Status()
    {
        if (_decided is { } decided) return decided.Message;
        var plan = Current();
        return plan.Relaunch
            ? $"malloc tuning not in force: this process started without {MallocTuning.TunablesVariable}={plan.Tunables} (the volunteer and benchmark executables set it themselves)."
            : plan.Message;
    }

    /// <summary>The plan for this process as it runs now (after a restart: says the tuning is in force).</summary>
    public static MallocTuningPlan Current() => MallocTuning.Decide(Environment.GetEnvironmentVariable, IsGlibc());

    /// <summary>Makes a child process of ours start tuned, so it needs no restart of its own.</summary>
    public static void ApplyTo(System.Diagnostics.ProcessStartInfo start) => MallocTuning.ApplyTo(start, Environment.GetEnvironmentVariable, IsGlibc());

    /// <summary>Whether this process runs on glibc (musl and other C libraries ignore <c>GLIBC_TUNABLES</c>).</summary>
    public static bool IsGlibc()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return gnu_get_libc_version() != IntPtr.Zero;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    // /proc/self/cmdline is the argv the kernel started us with (dotnet's own arguments included), which the managed
    // Environment.GetCommandLineArgs() does not give back for `dotnet app.dll`.
    private static string[] CommandLine()
    {
        try
        {
            var raw = File.ReadAllText("/proc/self/cmdline");
            return raw.TrimEnd('\0').Split('\0');
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static int Exec(string path, string[] argv, string[] environment)
    {
        var allocated = new List<IntPtr>();
        IntPtr[] Strings(string[] values)
        {
            var pointers = new IntPtr[values.Length + 1]; // null-terminated, as execve wants
            for (int i = 0; i < values.Length; i++)
            {
                pointers[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
                allocated.Add(pointers[i]);
            }
            return pointers;
        }
        try
        {
            execve(path, Strings(argv), Strings(environment));
            return Marshal.GetLastPInvokeError();
        }
        finally
        {
            foreach (var p in allocated) Marshal.FreeCoTaskMem(p);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int execve([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr[] argv, IntPtr[] envp);

    [DllImport("libc")]
    private static extern IntPtr gnu_get_libc_version();
}
