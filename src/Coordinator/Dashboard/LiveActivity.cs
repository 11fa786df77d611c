using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Dashboard;

/// <summary>
/// What the engine's events say that the store does not keep: rejections per round and per volunteer (a round's skipped
/// groups and durations are in the store's round_stats). Counted since this process started; thread-safe, and quick,
/// because the handlers run on the engine's submit and round threads.
/// </summary>
public sealed class LiveActivity : IDisposable
{
    private readonly CoordinatorEngine _engine;
    private readonly object _gate = new();
    private readonly SortedDictionary<long, Dictionary<string, long>> _rejectionsByRound = [];
    private readonly Dictionary<string, Dictionary<string, long>> _rejectionsByVolunteer = new(StringComparer.Ordinal);
    private long _round;
    private long _version;

    public LiveActivity(CoordinatorEngine engine, TimeProvider time)
    {
        _engine = engine;
        Since = time.GetUtcNow();
        _round = engine.Round;
        engine.UpdateDecided += OnUpdateDecided;
        engine.RoundClosed += OnRoundClosed;
    }

    /// <summary>When counting started (the coordinator process's start, in practice).</summary>
    public DateTimeOffset Since { get; }

    /// <summary>Changes whenever anything recorded here changes, so readers copy only when needed.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Raised after each recorded event (the snapshot publisher refreshes early on it).</summary>
    public event Action? Changed;

    /// <summary>A copy of the per-round rejection counts by reason.</summary>
    public SortedDictionary<long, Dictionary<string, long>> RejectionsByRound()
    {
        lock (_gate)
        {
            var copy = new SortedDictionary<long, Dictionary<string, long>>();
            foreach (var (round, counts) in _rejectionsByRound) copy[round] = new Dictionary<string, long>(counts, StringComparer.Ordinal);
            return copy;
        }
    }

    /// <summary>A copy of the per-volunteer rejection counts by reason.</summary>
    public Dictionary<string, Dictionary<string, long>> RejectionsByVolunteer()
    {
        lock (_gate)
        {
            return _rejectionsByVolunteer.ToDictionary(p => p.Key, p => new Dictionary<string, long>(p.Value, StringComparer.Ordinal), StringComparer.Ordinal);
        }
    }

    private void OnUpdateDecided(UpdateDecision d)
    {
        if (d.Reason is not { } reason) return;
        string token = RejectReasons.Token(reason);
        lock (_gate)
        {
            // The round open when the rejection was counted, as far as the round-closed events have said: reading the
            // engine's round here would wait on its lock while a round closes.
            Increment(_rejectionsByRound, _round, token);
            if (d.VolunteerId is { } id) Increment(_rejectionsByVolunteer, id, token);
        }
        Interlocked.Increment(ref _version);
        Changed?.Invoke();
    }

    private void OnRoundClosed(RoundSummary s)
    {
        lock (_gate)
        {
            _round = Math.Max(_round, s.NewVersion);
        }
        Interlocked.Increment(ref _version);
        Changed?.Invoke();
    }

    private static void Increment<TKey>(IDictionary<TKey, Dictionary<string, long>> map, TKey key, string reason)
    {
        if (!map.TryGetValue(key, out var counts)) map[key] = counts = new Dictionary<string, long>(StringComparer.Ordinal);
        counts[reason] = counts.GetValueOrDefault(reason) + 1;
    }

    public void Dispose()
    {
        _engine.UpdateDecided -= OnUpdateDecided;
        _engine.RoundClosed -= OnRoundClosed;
    }
}
