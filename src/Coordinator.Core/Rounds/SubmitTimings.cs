using System.Diagnostics;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// When each <see cref="SubmitPhase"/> of one streamed submission ended (<see cref="Stopwatch"/> timestamps), raised with
/// <see cref="CoordinatorEngine.SubmitTimed"/> once it is accepted: the submit benchmark's account of where the time after the last
/// byte goes. Costs one timestamp per phase.
/// </summary>
public sealed class SubmitTimings
{
    private readonly long[] _at = new long[Enum.GetValues<SubmitPhase>().Length];

    /// <summary>Records that <paramref name="phase"/> ended now (the first time only; the workers and the reader may race to report).</summary>
    public void Mark(SubmitPhase phase) => Interlocked.CompareExchange(ref _at[(int)phase], Stopwatch.GetTimestamp(), 0);

    /// <summary>Whether <paramref name="phase"/> was reached (a plain, unpipelined payload has no worker phases).</summary>
    public bool Has(SubmitPhase phase) => Volatile.Read(ref _at[(int)phase]) != 0;

    /// <summary>Time from the end of <paramref name="from"/> to the end of <paramref name="to"/>; zero when either was not reached.</summary>
    public TimeSpan Between(SubmitPhase from, SubmitPhase to) =>
        Has(from) && Has(to) ? Stopwatch.GetElapsedTime(Volatile.Read(ref _at[(int)from]), Volatile.Read(ref _at[(int)to])) : TimeSpan.Zero;
}
