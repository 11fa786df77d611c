using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Hivemind.PortMapping;

namespace Hivemind.Volunteer.Relay;

/// <summary>
/// Which relay addresses may be handed to (by the coordinator) or dialed by (a volunteer) whom, so that a relay list can never
/// send a volunteer into its own network: public relays to anyone, loopback relays only between loopback peers, private ones
/// only within one /16 (IPv4) or /64 (IPv6). relay.proto documents the same rule.
/// </summary>
public static class RelayAddressPolicy
{
    private const int Ipv4SitePrefixBytes = 2;
    private const int Ipv6SitePrefixBytes = 8;

    /// <summary>True when a relay at <paramref name="relay"/> may be offered to (or dialed by) a peer that sees the world from <paramref name="peer"/>.</summary>
    public static bool MayConnect(IPAddress relay, IPAddress peer)
    {
        relay = Normalise(relay);
        peer = Normalise(peer);
        if (!IsUnicast(relay)) return false;
        if (AddressScope.IsPublic(relay)) return true;
        if (relay.AddressFamily != peer.AddressFamily) return false;
        if (IPAddress.IsLoopback(relay)) return IPAddress.IsLoopback(peer);
        if (IPAddress.IsLoopback(peer) || AddressScope.IsPublic(peer)) return false;
        int prefix = relay.AddressFamily == AddressFamily.InterNetwork ? Ipv4SitePrefixBytes : Ipv6SitePrefixBytes;
        return relay.GetAddressBytes().AsSpan(0, prefix).SequenceEqual(peer.GetAddressBytes().AsSpan(0, prefix));
    }

    /// <summary>Parses "ip:port" or "[ip6]:port"; host names, a missing port or port 0 are refused, so only the exact address the coordinator checked is dialed.</summary>
    public static bool TryParse(string text, out IPEndPoint endpoint)
    {
        endpoint = null!;
        if (!IPEndPoint.TryParse(text, out var parsed) || parsed.Port == 0) return false;
        // IPEndPoint.TryParse accepts a bare address with the port defaulted; require it to be written.
        if (!text.EndsWith(":" + parsed.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)) return false;
        endpoint = new IPEndPoint(Normalise(parsed.Address), parsed.Port);
        return true;
    }

    /// <summary>"ip:port" or "[ip6]:port", the form <see cref="TryParse"/> reads.</summary>
    public static string Format(IPEndPoint endpoint) => new IPEndPoint(Normalise(endpoint.Address), endpoint.Port).ToString();

    /// <summary>
    /// Where a volunteer stands, as far as the rule goes: its coordinator's address when the coordinator URL names an IP literal
    /// or localhost; a public stand-in otherwise (a coordinator found by name is on the internet, so only public relays are dialed).
    /// </summary>
    public static IPAddress VantageOf(Uri coordinator)
    {
        if (IPAddress.TryParse(coordinator.Host.Trim('[', ']'), out var literal)) return Normalise(literal);
        return coordinator.IsLoopback ? IPAddress.Loopback : PublicStandIn;
    }

    /// <summary>A documentation address (TEST-NET-3) standing for "somewhere on the internet".</summary>
    private static readonly IPAddress PublicStandIn = IPAddress.Parse("203.0.113.1");

    private static IPAddress Normalise(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static bool IsUnicast(IPAddress address)
    {
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast)) return false;
        if (address.AddressFamily == AddressFamily.InterNetworkV6) return !address.IsIPv6Multicast;
        var first = address.GetAddressBytes()[0];
        return first != 0 && first < 224;
    }
}
