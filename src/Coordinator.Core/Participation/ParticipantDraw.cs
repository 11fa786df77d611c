using System.Security.Cryptography;

namespace Hivemind.Coordinator.Participation;

/// <summary>
/// Who trains a round: everyone who asks within a draw window enters; when the window closes (on the first ask after it), every free
/// unit of the round is drawn at once among the entrants in a random order (so asking faster or more often buys nothing), and the next
/// window opens with the next ask. Winners other than the asker that closed the window hold a reservation they claim on their next ask,
/// within <see cref="ClaimWindow"/> of the window's end; losers are told to come back for the next window. A window whose entrants all
/// stayed away until every claim they could have won had lapsed is dropped unresolved (they are gone: a draw then would only hand the
/// next asker's slot to absent keys), and that asker opens a new one. A window of zero is first-come.
/// Not thread-safe: the engine calls it under its lock.
/// </summary>
public sealed class ParticipantDraw
{
    /// <summary>How long a loser waits with a window of zero (first-come: there is no next window to wait for).</summary>
    public static readonly TimeSpan FirstComeRetry = TimeSpan.FromMilliseconds(500);

    /// <summary>Time a winner has, beyond two windows, to come back for its unit (a network round trip on a slow link, with margin).</summary>
    private static readonly TimeSpan ClaimSlack = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time;
    private readonly TimeSpan _window;
    private readonly Random? _seeded;
    private readonly HashSet<string> _askers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _winners = new(StringComparer.Ordinal);
    private long _round = -1;
    private DateTimeOffset? _drawAt;

    /// <param name="seeded">Null on a real coordinator: the order comes from a CSPRNG, so nobody can predict the draw. Simulations pass a seeded generator.</param>
    public ParticipantDraw(TimeProvider time, TimeSpan window, Random? seeded)
    {
        _time = time;
        _window = window;
        _seeded = seeded;
    }

    /// <summary>How long a winner has to come back for its unit, counted from the end of the window it won in.</summary>
    public TimeSpan ClaimWindow => ClaimWindowOf(_window);

    /// <summary>The claim window of a draw with windows of <paramref name="window"/>: two windows (a large crowd is told to come back up to a window late) plus slack.</summary>
    public static TimeSpan ClaimWindowOf(TimeSpan window) => window + window + ClaimSlack;

    /// <summary>Slots held by winners that have not claimed them yet.</summary>
    public int Reserved(long round) => ReservedKeys(round).Count;

    /// <summary>The winners that have not claimed their slot yet.</summary>
    public IReadOnlyCollection<string> ReservedKeys(long round)
    {
        Reset(round);
        Prune();
        return _winners.Keys;
    }

    /// <summary>Takes <paramref name="volunteerId"/>'s reserved slot, if it won one in <paramref name="round"/> and is within its claim window.</summary>
    public bool TryClaim(long round, string volunteerId)
    {
        Reset(round);
        Prune();
        return _winners.Remove(volunteerId);
    }

    /// <summary>
    /// Enters <paramref name="volunteerId"/> for <paramref name="round"/>. Returns null when it may take a unit now, otherwise how long to wait.
    /// <paramref name="pick"/> chooses the winners from the shuffled entrants, one unit each (the engine applies the free slots, probation
    /// and per-key caps there); every winner but the caller gets a reservation.
    /// </summary>
    public TimeSpan? Ask(long round, string volunteerId, Func<IReadOnlyList<string>, IReadOnlyList<string>> pick)
    {
        Reset(round);
        Prune();
        var now = _time.GetUtcNow();
        if (_winners.Remove(volunteerId)) return null;
        if (_drawAt is { } end && now >= end + ClaimWindow)
        {
            // Every entrant was told to come back by the window's end (a large crowd a window later) and none did: nobody is left to win.
            _askers.Clear();
            _drawAt = null;
        }
        _askers.Add(volunteerId);
        _drawAt ??= now + _window;
        if (now < _drawAt) return _drawAt.Value - now;

        var entrants = _askers.ToArray();
        Shuffle(entrants);
        var closedAt = _drawAt.Value;
        _askers.Clear();
        _drawAt = null;
        bool won = false;
        foreach (var id in pick(entrants))
        {
            if (id == volunteerId) won = true;
            else _winners[id] = closedAt + ClaimWindow;
        }
        return won ? null : _window > TimeSpan.Zero ? _window : FirstComeRetry;
    }

    private void Shuffle(string[] entrants)
    {
        if (_seeded is null) RandomNumberGenerator.Shuffle(entrants.AsSpan());
        else _seeded.Shuffle(entrants);
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
