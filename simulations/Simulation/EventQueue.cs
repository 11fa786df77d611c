namespace Hivemind.Simulations.Simulation;

/// <summary>A discrete-event queue on virtual time: events fire in time order, ties in scheduling order, so runs are deterministic.</summary>
/// <typeparam name="T">The event payload.</typeparam>
public sealed class EventQueue<T>
{
    private readonly PriorityQueue<T, (double Time, long Sequence)> _queue = new();
    private long _sequence;

    /// <summary>Virtual seconds: the time of the event last taken.</summary>
    public double Now { get; private set; }

    /// <summary>Events waiting.</summary>
    public int Count => _queue.Count;

    /// <summary>Schedules <paramref name="payload"/> at <paramref name="time"/>, which may not be in the past.</summary>
    public void Schedule(double time, T payload)
    {
        if (double.IsNaN(time) || time < Now)
        {
            throw new ArgumentOutOfRangeException(nameof(time), time, $"an event cannot be scheduled before now ({Now}) or at NaN");
        }

        _queue.Enqueue(payload, (time, _sequence++));
    }

    /// <summary>Takes the earliest event and advances <see cref="Now"/> to its time.</summary>
    public bool TryNext(out T payload)
    {
        if (_queue.TryDequeue(out payload!, out var key))
        {
            Now = key.Time;
            return true;
        }

        return false;
    }
}
