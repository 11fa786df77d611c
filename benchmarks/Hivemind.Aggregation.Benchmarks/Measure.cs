using System.Diagnostics;

namespace Hivemind.Aggregation.Benchmarks;

/// <summary>Best-of-k wall time of an operation, plus the bytes it allocated (to check the one-extra-copy budget).</summary>
internal static class Measure
{
    public static (double Seconds, long Allocated) Best(int repetitions, Action operation)
    {
        double best = double.PositiveInfinity;
        long allocated = 0;
        for (int r = 0; r < repetitions; r++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            var watch = Stopwatch.StartNew();
            operation();
            watch.Stop();
            allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }

        return (best, allocated);
    }
}
