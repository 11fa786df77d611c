namespace Hivemind.Coordinator.Participation;

/// <summary>
/// Who trains a round: everyone who asks within a draw window enters; at the end of the window the free slots are drawn at random
/// among them (so asking faster or more often buys nothing), then the next window opens with the next ask. Winners that were not
/// the caller claim their slot on their next ask, within <see cref="ClaimWindow"/>. A window of zero is first-come.
/// Not thread-safe: the engine calls it under its lock.
/// </summary>
public sealed class ParticipantDraw
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _window;
    private readonly Random _rng;
    private readonly HashSet<string> _askers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _winners = new(StringComparer.Ordinal);
    private long _round = -1;
    private DateTimeOffset? _drawAt;

    /// <param name="rng">Seeded from a CSPRNG on a real coordinator, so nobody can predict the draw.</param>
    public ParticipantDraw(TimeProvider time, TimeSpan window, Random rng)
    {
        _time = time;
        _window = window;
        _rng = rng;
    }

    /// <summary>How long a winner has to come back for its unit.</summary>
    public TimeSpan ClaimWindow => _window + _window + TimeSpan.FromSeconds(5);

    /// <summary>Slots held by winners that have not claimed them yet.</summary>
    public int Reserved(long round)
    {
        Reset(round);
        Prune();
        return _winners.Count;
    }

    /// <summary>
    /// Enters <paramref name="volunteerId"/> for <paramref name="round"/>. Returns null when it may take a unit now, otherwise how long to wait.
    /// <paramref name="pick"/> chooses the winners from the shuffled entrants (the engine applies probation there).
    /// </summary>
    public TimeSpan? Ask(long round, string volunteerId, Func<IReadOnlyList<string>, IReadOnlyList<string>> pick)
    {
        Reset(round);
        Prune();
        var now = _time.GetUtcNow();
        if (_winners.Remove(volunteerId)) return null;
        _askers.Add(volunteerId);
        _drawAt ??= now + _window;
        if (now < _drawAt) return _drawAt.Value - now;

        var entrants = _askers.ToArray();
        _rng.Shuffle(entrants);
        _askers.Clear();
        _drawAt = null;
        bool won = false;
        foreach (var id in pick(entrants))
        {
            if (id == volunteerId) won = true;
            else _winners[id] = now + ClaimWindow;
        }
        return won ? null : _window > TimeSpan.Zero ? _window : TimeSpan.FromMilliseconds(500);
    }

    private void Reset(long round)
    {
        if (round == _round) return;
        _round = round;
        _askers.Clear();
        _winners.Clear();
        _drawAt = null;
    }

    private void Prune()
    {
        var now = _time.GetUtcNow();
        foreach (var id in _winners.Where(w => w.Value < now).Select(w => w.Key).ToList()) _winners.Remove(id);
    }
}
