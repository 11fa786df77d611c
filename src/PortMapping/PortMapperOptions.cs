using System.Net;

namespace Hivemind.PortMapping;

/// <summary>Where to look for a router and how long to wait. The defaults search the LAN: SSDP multicast, then NAT-PMP at the default gateway.</summary>
/// <param name="SsdpTarget">Where to send the SSDP M-SEARCH; null means the multicast group.</param>
/// <param name="NatPmpGateway">The NAT-PMP gateway; null means the default gateway on port 5351.</param>
/// <param name="UseUpnp">Try UPnP-IGD.</param>
/// <param name="UseNatPmp">Try NAT-PMP when UPnP fails.</param>
public sealed record PortMapperOptions(
    PortMappingTimeouts Timeouts,
    IPEndPoint? SsdpTarget = null,
    IPEndPoint? NatPmpGateway = null,
    bool UseUpnp = true,
    bool UseNatPmp = true)
{
    /// <summary>Both methods, default timeouts, discovery on the LAN.</summary>
    public static PortMapperOptions Default { get; } = new(PortMappingTimeouts.Default);
}
