using System.Security.Cryptography;
using System.Text;

namespace Hivemind.Coordinator.Admission;

/// <summary>
/// Live sessions: one per volunteer key, known by the SHA-256 of their token (the token itself is never stored), each expiring
/// after <see cref="Timeout"/> without a call, unless its volunteer holds a live lease (training is silent between heartbeats).
/// </summary>
public sealed class SessionBook
{
    private readonly TimeProvider _time;
    private readonly Dictionary<string, (string VolunteerId, DateTimeOffset LastSeen)> _byHash = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _hashByVolunteer = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <param name="timeout">Silence after which a session expires (the .proto promises 3 heartbeat intervals).</param>
    public SessionBook(TimeProvider time, TimeSpan timeout)
    {
        _time = time;
        Timeout = timeout;
    }

    public TimeSpan Timeout { get; }

    /// <summary>Lowercase hex SHA-256 of a token: what the store keeps.</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>A fresh token for <paramref name="volunteerId"/>; its previous session (if any) ends. Returns (token, its hash).</summary>
    public (string Token, string Hash) Open(string volunteerId)
    {
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        string hash = Hash(token);
        Add(hash, volunteerId);
        return (token, hash);
    }

    /// <summary>Restores a stored session (after a restart it counts as just seen).</summary>
    public void Add(string hash, string volunteerId)
    {
        lock (_gate)
        {
            if (_hashByVolunteer.Remove(volunteerId, out var old)) _byHash.Remove(old);
            _byHash[hash] = (volunteerId, _time.GetUtcNow());
            _hashByVolunteer[volunteerId] = hash;
        }
    }

    /// <summary>
    /// The volunteer of a live session, refreshing it; null if unknown or expired (an expired session is forgotten).
    /// <paramref name="holdsLiveLease"/> is called WITHOUT this book's lock held: it takes the engine's lock, and the engine calls into
    /// this book under its own lock (an accepted update touches the session), so calling it under ours deadlocked the two under load.
    /// </summary>
    public string? Authenticate(string token, Func<string, bool> holdsLiveLease)
    {
        if (string.IsNullOrEmpty(token)) return null;
        string hash = Hash(token);
        var seen = Lookup(hash);
        if (seen is not { } s) return null;
        var now = _time.GetUtcNow();
        bool silent = now - s.LastSeen > Timeout;
        bool keep = !silent || holdsLiveLease(s.VolunteerId);
        lock (_gate)
        {
            // Another call may have refreshed or ended the session meanwhile; only this token's own entry is updated or dropped.
            if (!_byHash.TryGetValue(hash, out var current)) return null;
            if (!keep && now - current.LastSeen > Timeout)
            {
                _byHash.Remove(hash);
                _hashByVolunteer.Remove(current.VolunteerId);
                return null;
            }
            if (current.LastSeen < now) _byHash[hash] = (current.VolunteerId, now);
            return current.VolunteerId;
        }
    }

    /// <summary>The volunteer of a live session, without counting as a call (a relay's listing must not keep its session alive); null if unknown or expired.</summary>
    public string? Peek(string token, Func<string, bool> holdsLiveLease)
    {
        if (string.IsNullOrEmpty(token)) return null;
        if (Lookup(Hash(token)) is not { } s) return null;
        // Outside the lock, as in Authenticate.
        return _time.GetUtcNow() - s.LastSeen > Timeout && !holdsLiveLease(s.VolunteerId) ? null : s.VolunteerId;
    }

    private (string VolunteerId, DateTimeOffset LastSeen)? Lookup(string hash)
    {
        lock (_gate) return _byHash.TryGetValue(hash, out var s) ? s : null;
    }

    /// <summary>Counts as a call of the volunteer's session (an in-process submission carries no token).</summary>
    public void Touch(string volunteerId)
    {
        lock (_gate)
        {
            if (_hashByVolunteer.TryGetValue(volunteerId, out var hash)) _byHash[hash] = (volunteerId, _time.GetUtcNow());
        }
    }

    /// <summary>
    /// The coordinator told this volunteer to come back at <paramref name="at"/>: its session counts as seen then, so obeying the advice
    /// never expires it (the silence allowed is measured from the time it was told to return).
    /// </summary>
    public void ExpectAt(string volunteerId, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (_hashByVolunteer.TryGetValue(volunteerId, out var hash) && _byHash[hash].LastSeen < at) _byHash[hash] = (volunteerId, at);
        }
    }

    /// <summary>Ends the volunteer's session only if it is still the one with <paramref name="tokenHash"/> (a later join's session stays).</summary>
    public void RemoveIf(string volunteerId, string tokenHash)
    {
        lock (_gate)
        {
            if (_hashByVolunteer.TryGetValue(volunteerId, out var hash) && hash == tokenHash)
            {
                _hashByVolunteer.Remove(volunteerId);
                _byHash.Remove(hash);
            }
        }
    }

    public void Remove(string volunteerId)
    {
        lock (_gate)
        {
            if (_hashByVolunteer.Remove(volunteerId, out var hash)) _byHash.Remove(hash);
        }
    }

    /// <summary>Volunteers whose session was used within <paramref name="window"/>.</summary>
    public int ActiveWithin(TimeSpan window)
    {
        var now = _time.GetUtcNow();
        lock (_gate) return _byHash.Values.Count(s => now - s.LastSeen <= window);
    }
}
