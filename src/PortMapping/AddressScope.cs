using System.Net;

namespace Hivemind.PortMapping;

/// <summary>Tells addresses the internet can route to from those it cannot (RFC 1918, RFC 6598 shared, loopback, link-local).</summary>
public static class AddressScope
{
    /// <summary>True when <paramref name="address"/> is a unicast address routed on the public internet.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return false;
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast);
        var b = address.GetAddressBytes();
        return !(b[0] == 10
                 || (b[0] == 172 && b[1] is >= 16 and <= 31)
                 || (b[0] == 192 && b[1] == 168)
                 || (b[0] == 100 && b[1] is >= 64 and <= 127) // RFC 6598: carrier-grade NAT
                 || (b[0] == 169 && b[1] == 254)
                 || b[0] == 0 || b[0] >= 224);
    }
}
