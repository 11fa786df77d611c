using System.Net;

namespace Hivemind.PortMapping;

/// <summary>A mapping the router granted: <see cref="ExternalAddress"/>:<see cref="ExternalPort"/> forwards to this host's <see cref="InternalPort"/>.</summary>
/// <param name="Method">"UPnP-IGD" or "NAT-PMP".</param>
/// <param name="Gateway">Which router granted it (control URL or address), for messages.</param>
/// <param name="Lifetime">What the router granted; may be shorter than asked.</param>
public sealed record MappedPort(
    string Method,
    string Gateway,
    MappingProtocol Protocol,
    IPAddress InternalClient,
    int InternalPort,
    IPAddress ExternalAddress,
    int ExternalPort,
    TimeSpan Lifetime)
{
    /// <summary>The public endpoint others should dial.</summary>
    public IPEndPoint ExternalEndPoint => new(ExternalAddress, ExternalPort);

    /// <summary>False when the router's own "external" address is private or shared (a second router, carrier-grade NAT): then the mapping does not reach the internet.</summary>
    public bool ExternalAddressIsPublic => AddressScope.IsPublic(ExternalAddress);
}
