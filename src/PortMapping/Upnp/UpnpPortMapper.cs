using System.Globalization;
using System.Net;

namespace Hivemind.PortMapping.Upnp;

/// <summary>
/// Port mappings through a UPnP Internet Gateway Device (IGD:1/IGD:2 WANIPConnection or WANPPPConnection).
/// Hand-written because Open.NAT and Mono.Nat are not served by the package mirror; only the four actions we need are here.
/// </summary>
public sealed class UpnpPortMapper : IPortMapper, IDisposable
{
    public const string MethodName = "UPnP-IGD";

    private readonly GatewayDescription _gateway;
    private readonly SoapClient _soap;
    private readonly HttpClient _http;
    private readonly IPAddress _internalClient;

    private UpnpPortMapper(GatewayDescription gateway, HttpClient http, PortMappingTimeouts timeouts, TimeProvider time)
    {
        _gateway = gateway;
        _http = http;
        _soap = new SoapClient(http, timeouts.Http, time);
        _internalClient = LocalInterface.AddressFor(IPAddress.Parse(gateway.ControlUrl.Host));
    }

    public string Method => MethodName;

    /// <summary>The gateway's WAN connection service in use.</summary>
    public GatewayDescription Gateway => _gateway;

    /// <summary>Discovers a gateway with SSDP sent to <paramref name="ssdpTarget"/> (multicast by default) and reads its device description.</summary>
    public static async Task<UpnpPortMapper> DiscoverAsync(PortMappingTimeouts timeouts, IPEndPoint? ssdpTarget = null, TimeProvider? time = null, CancellationToken ct = default)
    {
        timeouts.Validate();
        time ??= TimeProvider.System;
        var location = await new SsdpDiscovery(ssdpTarget ?? SsdpDiscovery.MulticastEndPoint, timeouts.SsdpDiscovery, time).DiscoverAsync(ct);
        return await FromLocationAsync(location, timeouts, time, ct);
    }

    /// <summary>Reads the device description at <paramref name="location"/> (an SSDP LOCATION).</summary>
    public static async Task<UpnpPortMapper> FromLocationAsync(Uri location, PortMappingTimeouts timeouts, TimeProvider? time = null, CancellationToken ct = default)
    {
        time ??= TimeProvider.System;
        if (!IPAddress.TryParse(location.Host, out _))
            throw new PortMappingException($"UPnP gateway location {location} must name an IP address, not a host name.");
        // No proxy: the gateway is on the LAN, and an HTTP(S)_PROXY from the environment must not see our requests.
        var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
        try
        {
            using var timeoutCts = new CancellationTokenSource(timeouts.Http, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
            string xml;
            try
            {
                using var response = await http.GetAsync(location, HttpCompletionOption.ResponseHeadersRead, linked.Token);
                if (!response.IsSuccessStatusCode)
                    throw new PortMappingException($"The UPnP gateway's device description at {location} answered HTTP {(int)response.StatusCode}. Restart the router, or forward the port by hand.");
                xml = await HttpBody.ReadAsync(response.Content, $"The UPnP gateway's device description at {location}", linked.Token);
            }
            catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new PortMappingException($"The UPnP gateway did not send its device description ({location}) within {timeouts.Http.TotalSeconds:0.##} s. Restart the router, or forward the port by hand.");
            }
            catch (HttpRequestException e)
            {
                throw new PortMappingException($"Could not fetch the UPnP gateway's device description at {location}: {e.Message}. Forward the port by hand.", e);
            }
            return new UpnpPortMapper(GatewayDescription.Parse(xml, location), http, timeouts, time);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    public async Task<IPAddress> GetExternalAddressAsync(CancellationToken ct = default)
    {
        var reply = await _soap.InvokeAsync(_gateway, "GetExternalIPAddress", [], ct);
        if (!reply.TryGetValue("NewExternalIPAddress", out var text) || !IPAddress.TryParse(text, out var address) || address.Equals(IPAddress.Any))
            throw new PortMappingException(
                $"The UPnP gateway at {_gateway.ControlUrl} gave no usable external address ('{(text is null ? "missing" : text)}'): it is probably not connected to the internet yet.");
        return address;
    }

    public async Task<MappedPort> MapAsync(PortMappingRequest request, CancellationToken ct = default)
    {
        request.Validate();
        var external = await GetExternalAddressAsync(ct);
        var lease = request.Lifetime;
        try
        {
            await _soap.InvokeAsync(_gateway, "AddPortMapping", AddArguments(request, lease), ct);
        }
        catch (PortMappingException e) when (e.GatewayErrorCode == UpnpErrors.OnlyPermanentLeasesSupported)
        {
            // IGD:1 routers may keep only permanent mappings; we take one and remove it on dispose. A crash leaves it behind,
            // which the router's page shows under our description.
            lease = TimeSpan.Zero;
            await _soap.InvokeAsync(_gateway, "AddPortMapping", AddArguments(request, lease), ct);
        }
        return new MappedPort(MethodName, _gateway.ControlUrl.ToString(), request.Protocol, _internalClient, request.InternalPort, external, request.ExternalPort, lease);
    }

    public async Task UnmapAsync(MappedPort mapping, CancellationToken ct = default)
    {
        await _soap.InvokeAsync(_gateway, "DeletePortMapping",
        [
            ("NewRemoteHost", ""),
            ("NewExternalPort", mapping.ExternalPort.ToString(CultureInfo.InvariantCulture)),
            ("NewProtocol", ProtocolName(mapping.Protocol)),
        ], ct);
    }

    public void Dispose() => _http.Dispose();

    private (string, string)[] AddArguments(PortMappingRequest r, TimeSpan lease) =>
    [
        ("NewRemoteHost", ""),
        ("NewExternalPort", r.ExternalPort.ToString(CultureInfo.InvariantCulture)),
        ("NewProtocol", ProtocolName(r.Protocol)),
        ("NewInternalPort", r.InternalPort.ToString(CultureInfo.InvariantCulture)),
        ("NewInternalClient", _internalClient.ToString()),
        ("NewEnabled", "1"),
        ("NewPortMappingDescription", r.Description),
        ("NewLeaseDuration", ((long)lease.TotalSeconds).ToString(CultureInfo.InvariantCulture)),
    ];

    private static string ProtocolName(MappingProtocol p) => p == MappingProtocol.Tcp ? "TCP" : "UDP";
}
