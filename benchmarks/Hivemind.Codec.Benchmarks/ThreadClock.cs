using System.Runtime.InteropServices;

namespace Hivemind.Codec.Benchmarks;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID): on a machine shared with other jobs, wall time mostly measures
/// the scheduler (a long encode is preempted many times, a short memcpy fits in one slice); CPU time measures the work.
/// </summary>
internal static partial class ThreadClock
{
    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>Seconds of CPU this thread has used.</summary>
    public static double Now() => ClockGetTime(ClockThreadCpuTime, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9
        : throw new PlatformNotSupportedException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed; the throughput benchmark needs Linux.");
}
