using System.Runtime.InteropServices;

namespace Hivemind.Coordinator.Benchmarks.Load;

/// <summary>kill(2), for a graceful SIGTERM (Process.Kill sends SIGKILL).</summary>
internal static class Posix
{
    private const int SigTerm = 15;

    public static void Terminate(int pid)
    {
        if (!OperatingSystem.IsWindows()) _ = Kill(pid, SigTerm);
    }

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
