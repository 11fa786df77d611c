using System.Net;
using Hivemind.Volunteer.Relay;

namespace Hivemind.Coordinator.Relays;

/// <summary>
/// The live relays and which parameters each will hold. A relay is listed once it proved its address and key (see
/// <see cref="RelayRegistryService"/>) and only while its session lives. What a relay holds is never taken from the relay: the
/// coordinator notes it when it leases the relay a unit, so a relay is offered only for parameters it was itself sent to fetch,
/// and only to volunteers leased after it (so no two relays ever wait on each other).
/// </summary>
public sealed class RelayDirectory(Func<string, bool> isSessionLive)
{
    /// <summary>Relays handed out per work unit; a downloader tries them in turn before the coordinator.</summary>
    public const int MaxRelaysPerReply = RelayFetcher.MaxRelaysTried;

    /// <summary>Versions whose holders are remembered (the current one and the one before, for stragglers).</summary>
    private const int VersionsKept = 2;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Registration> _relays = new(StringComparer.Ordinal);
    private readonly Dictionary<(long Version, string Sha), List<Holder>> _holders = [];
    private readonly Dictionary<string, string> _dropped = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _droppedAt = new(StringComparer.Ordinal);

    /// <summary>Live registrations (expired ones are dropped as they are noticed).</summary>
    public int Count
    {
        get
        {
            lock (_gate) return _relays.Values.Count(r => isSessionLive(r.SessionToken));
        }
    }

    /// <summary>Lists <paramref name="volunteerId"/>'s relay at <paramref name="endpoint"/> for the session <paramref name="sessionToken"/>, replacing an earlier one.</summary>
    public void Register(string volunteerId, string sessionToken, IPEndPoint endpoint)
    {
        lock (_gate) _relays[volunteerId] = new Registration(sessionToken, endpoint);
    }

    /// <summary>Why <paramref name="volunteerId"/>'s relay was dropped (it may not register again while this coordinator runs), or null.</summary>
    public string? DroppedBecause(string volunteerId)
    {
        lock (_gate) return _dropped.GetValueOrDefault(volunteerId);
    }

    /// <summary>The volunteer whose live relay is listed at <paramref name="endpoint"/>, or null.</summary>
    public string? FindLive(IPEndPoint endpoint)
    {
        var wanted = RelayAddressPolicy.Format(endpoint);
        lock (_gate)
        {
            foreach (var (id, registration) in _relays.ToList())
                if (RelayAddressPolicy.Format(registration.Endpoint) == wanted && IsLive(id, registration)) return id;
            return null;
        }
    }

    /// <summary>Why the relay last listed at <paramref name="endpoint"/> was dropped, or null.</summary>
    public string? DroppedAt(IPEndPoint endpoint)
    {
        lock (_gate) return _droppedAt.GetValueOrDefault(RelayAddressPolicy.Format(endpoint));
    }

    /// <summary>Stops offering <paramref name="volunteerId"/>'s relay at once and refuses its registrations from now on.</summary>
    public void Drop(string volunteerId, string why)
    {
        lock (_gate)
        {
            if (_relays.Remove(volunteerId, out var registration)) _droppedAt[RelayAddressPolicy.Format(registration.Endpoint)] = why;
            _dropped.TryAdd(volunteerId, why);
        }
    }

    /// <summary>
    /// Called when <paramref name="volunteerId"/> (connecting from <paramref name="requester"/>) is leased a unit whose parameters are
    /// <paramref name="sha256"/> at <paramref name="version"/>: the relays it should try, least used first; the requester, if it is a
    /// relay itself, is then noted as a future holder.
    /// </summary>
    public IReadOnlyList<string> Lease(string volunteerId, IPAddress? requester, long version, ReadOnlySpan<byte> sha256)
    {
        var key = (version, Convert.ToHexStringLower(sha256));
        lock (_gate)
        {
            foreach (var old in _holders.Keys.Where(k => k.Version <= version - VersionsKept).ToList()) _holders.Remove(old);
            if (!_holders.TryGetValue(key, out var holders)) _holders[key] = holders = [];
            holders.RemoveAll(h => !IsLive(h.VolunteerId, h.Registration));

            var offered = new List<string>();
            if (requester is not null && holders.All(h => h.VolunteerId != volunteerId))
            {
                foreach (var h in holders.Where(h => RelayAddressPolicy.MayConnect(h.Registration.Endpoint.Address, requester))
                             .OrderBy(h => h.HandedOut).Take(MaxRelaysPerReply))
                {
                    h.HandedOut++;
                    offered.Add(RelayAddressPolicy.Format(h.Registration.Endpoint));
                }
            }
            if (_relays.TryGetValue(volunteerId, out var mine) && holders.All(h => h.VolunteerId != volunteerId))
                holders.Add(new Holder(volunteerId, mine));
            return offered;
        }
    }

    /// <summary>Live, and still the registration the holder was noted under (a new registration or session starts afresh).</summary>
    private bool IsLive(string volunteerId, Registration registration)
    {
        if (!_relays.TryGetValue(volunteerId, out var current) || !ReferenceEquals(current, registration)) return false;
        if (isSessionLive(current.SessionToken)) return true;
        _relays.Remove(volunteerId);
        return false;
    }

    private sealed record Registration(string SessionToken, IPEndPoint Endpoint);

    private sealed class Holder(string volunteerId, Registration registration)
    {
        public string VolunteerId { get; } = volunteerId;

        public Registration Registration { get; } = registration;

        public int HandedOut { get; set; }
    }
}
