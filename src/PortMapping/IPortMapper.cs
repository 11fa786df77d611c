using System.Net;

namespace Hivemind.PortMapping;

/// <summary>One way of asking one router for port mappings (UPnP-IGD or NAT-PMP).</summary>
public interface IPortMapper
{
    /// <summary>"UPnP-IGD" or "NAT-PMP", for messages.</summary>
    string Method { get; }

    /// <summary>The router's public address as the router sees it.</summary>
    Task<IPAddress> GetExternalAddressAsync(CancellationToken ct = default);

    /// <summary>Creates or renews a mapping; throws <see cref="PortMappingException"/> when the router refuses or does not answer.</summary>
    Task<MappedPort> MapAsync(PortMappingRequest request, CancellationToken ct = default);

    /// <summary>Removes a mapping this mapper made.</summary>
    Task UnmapAsync(MappedPort mapping, CancellationToken ct = default);
}
