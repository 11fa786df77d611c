namespace Hivemind.Coordinator.Services;

/// <summary>Reports each value to two observers (the stream's watchdog and the dashboard's transfer entry).</summary>
internal sealed class FanOut(IProgress<long> first, IProgress<long> second) : IProgress<long>
{
    public void Report(long value)
    {
        first.Report(value);
        second.Report(value);
    }
}
