using System.Globalization;

namespace Hivemind.Simulations.Calibration;

/// <summary>CPU time used by other programs during a measurement (Linux /proc), so a loaded machine is priced, not hidden.</summary>
public sealed class CpuLoad
{
    private const string StatPath = "/proc/stat";
    private const string SelfStatPath = "/proc/self/stat";

    // /proc/stat's cpu line: user nice system idle iowait irq softirq steal; all but idle and iowait are busy time.
    private static readonly int[] BusyFields = [0, 1, 2, 5, 6, 7];

    // /proc/self/stat fields 14 and 15 (utime, stime), counted after the ")" that ends the command name.
    private const int UtimeAfterName = 11;
    private const int StimeAfterName = 12;

    // /proc/self/stat field 41 (policy): 1 is SCHED_FIFO, 2 is SCHED_RR (what `chrt -f` / `chrt -r` set; threads inherit it).
    private const int PolicyAfterName = 38;
    private const int SchedFifo = 1;
    private const int SchedRoundRobin = 2;

    private readonly long _busy;
    private readonly long _self;
    private readonly DateTime _start = DateTime.UtcNow;

    private CpuLoad(long busy, long self)
    {
        _busy = busy;
        _self = self;
    }

    /// <summary>Starts counting; null where /proc is not available (the check then assumes an idle machine and says so).</summary>
    public static CpuLoad? Start() => Read() is { } r ? new CpuLoad(r.Busy, r.Self) : null;

    /// <summary>Cores other processes kept busy on average since <see cref="Start"/>, given the kernel's ticks per second.</summary>
    public double BackgroundBusyCores(double ticksPerSecond = 100)
    {
        var now = Read() ?? throw new InvalidOperationException($"{StatPath} disappeared during the measurement");
        double seconds = (DateTime.UtcNow - _start).TotalSeconds;
        double others = (now.Busy - _busy) - (now.Self - _self);
        return seconds > 0 ? Math.Max(0, others / ticksPerSecond / seconds) : 0;
    }

    /// <summary>
    /// Whether this process runs under a real-time scheduling policy (e.g. started by `chrt -f 50`): its threads then preempt every
    /// ordinary program, which only gets the cores while this process waits, so other programs' busy time takes nothing from it.
    /// </summary>
    public static bool RunsRealTime()
    {
        if (!File.Exists(SelfStatPath))
        {
            return false;
        }

        string self = File.ReadAllText(SelfStatPath);
        string[] after = self[(self.LastIndexOf(')') + 2)..].Split(' ');
        return after.Length > PolicyAfterName && int.TryParse(after[PolicyAfterName], NumberStyles.Integer, CultureInfo.InvariantCulture, out int policy)
            && policy is SchedFifo or SchedRoundRobin;
    }

    private static (long Busy, long Self)? Read()
    {
        if (!File.Exists(StatPath) || !File.Exists(SelfStatPath))
        {
            return null;
        }

        string cpu = File.ReadLines(StatPath).First();
        long[] fields = cpu.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        long busy = BusyFields.Where(i => i < fields.Length).Sum(i => fields[i]);
        string self = File.ReadAllText(SelfStatPath);
        string[] after = self[(self.LastIndexOf(')') + 2)..].Split(' ');
        long mine = long.Parse(after[UtimeAfterName], CultureInfo.InvariantCulture) + long.Parse(after[StimeAfterName], CultureInfo.InvariantCulture);
        return (busy, mine);
    }
}
