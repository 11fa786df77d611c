using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace Hivemind.Coordinator.Metrics;

/// <summary>
/// The runtime's GC pauses as the coordinator's request threads feel them (from suspending the managed threads to resuming them),
/// with each collection's generation, kind and trigger, from the runtime's own GC events. The host logs <see cref="Summary"/> at
/// shutdown, so a load test can tell a latency tail caused by GC pauses from one caused by locks or disks.
/// </summary>
public sealed class GcPauseMonitor : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";

    /// <summary>The runtime's GC keyword.</summary>
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    // Event ids of the runtime's GC events (documented in the runtime's ClrEtwAll.man).
    private const int GcStart = 1;
    private const int GcRestartEeEnd = 3;
    private const int GcSuspendEeBegin = 9;

    /// <summary>Pauses longer than this are counted apart (the load test's p99 target is 100 ms).</summary>
    private const double LongPauseMs = 50;

    /// <summary>The runtime's names of GC triggers (GCStart's Reason), by value.</summary>
    private static readonly string[] Reasons =
    [
        "small alloc", "induced", "low memory", "empty", "large alloc", "out of SOH space", "out of LOH space", "induced not forced",
        "internal", "induced low memory", "induced compacting", "low memory host", "provisional mode", "low memory host blocking",
    ];

    /// <summary>The runtime's GC kinds (GCStart's Type), by value.</summary>
    private static readonly string[] Kinds = ["blocking", "background", "foreground"];

    private readonly object _gate = new();
    private readonly Dictionary<string, int> _collections = new(StringComparer.Ordinal);
    private DateTime? _suspendedAt;
    private int _pauses;
    private double _totalMs;
    private double _maxMs;
    private int _long;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == RuntimeSource) EnableEvents(source, EventLevel.Informational, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        lock (_gate)
        {
            switch (e.EventId)
            {
                case GcStart when e.Payload is { Count: >= 4 } p:
                    string key = $"gen{Convert.ToInt32(p[1], CultureInfo.InvariantCulture)} {Name(Kinds, p[3])} ({Name(Reasons, p[2])})";
                    _collections[key] = _collections.GetValueOrDefault(key) + 1;
                    break;
                case GcSuspendEeBegin:
                    _suspendedAt = e.TimeStamp;
                    break;
                case GcRestartEeEnd when _suspendedAt is { } at:
                    double ms = (e.TimeStamp - at).TotalMilliseconds;
                    _suspendedAt = null;
                    _pauses++;
                    _totalMs += ms;
                    if (ms > _maxMs) _maxMs = ms;
                    if (ms > LongPauseMs) _long++;
                    break;
            }
        }
    }

    /// <summary>One line: pauses (count, total, longest, how many over <see cref="LongPauseMs"/>) and collections by generation, kind and trigger.</summary>
    public string Summary()
    {
        lock (_gate)
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"gc pauses: {_pauses}, total {_totalMs:0} ms, longest {_maxMs:0.0} ms, over {LongPauseMs:0} ms: {_long}; collections:");
            foreach (var (what, count) in _collections.OrderByDescending(c => c.Value)) text.Append(CultureInfo.InvariantCulture, $" {count}× {what};");
            return text.ToString();
        }
    }

    private static string Name(string[] names, object? value)
    {
        int i = Convert.ToInt32(value, CultureInfo.InvariantCulture);
        return i >= 0 && i < names.Length ? names[i] : i.ToString(CultureInfo.InvariantCulture);
    }
}
