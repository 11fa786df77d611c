using System.Net;
using Hivemind.PortMapping.NatPmp;
using Hivemind.PortMapping.Upnp;

namespace Hivemind.PortMapping;

/// <summary>Maps a port on whatever the router speaks: UPnP-IGD first (most home routers), then NAT-PMP; one error naming both failures and the manual fix.</summary>
public static class PortMapper
{
    /// <summary>Finds a gateway, maps <paramref name="request"/>, and returns a lease that renews and finally removes it.</summary>
    /// <exception cref="PortMappingException">No method worked; the message says what each tried and how to forward the port by hand.</exception>
    public static async Task<PortMappingLease> MapAsync(PortMappingRequest request, PortMapperOptions options, TimeProvider? time = null, CancellationToken ct = default)
    {
        request.Validate();
        options.Timeouts.Validate();
        if (!options.UseUpnp && !options.UseNatPmp) throw new ArgumentException("Port mapping needs UPnP or NAT-PMP enabled; both are off.", nameof(options));
        time ??= TimeProvider.System;
        var failures = new List<string>();
        IPAddress? gateway = options.NatPmpGateway?.Address;

        if (options.UseUpnp)
        {
            UpnpPortMapper? upnp = null;
            try
            {
                upnp = await UpnpPortMapper.DiscoverAsync(options.Timeouts, options.SsdpTarget, time, ct);
                gateway ??= IPAddress.Parse(upnp.Gateway.ControlUrl.Host);
                return await PortMappingLease.CreateAsync(upnp, request, time, ct);
            }
            catch (PortMappingException e)
            {
                upnp?.Dispose();
                failures.Add($"UPnP: {e.Message}");
            }
        }
        if (options.UseNatPmp)
        {
            var target = options.NatPmpGateway ?? (LocalInterface.DefaultGateway() is { } g ? new IPEndPoint(g, NatPmpPortMapper.GatewayPort) : null);
            if (target is null)
            {
                failures.Add("NAT-PMP: this host has no IPv4 default gateway to ask (give the router's address).");
            }
            else
            {
                gateway ??= target.Address;
                try
                {
                    return await PortMappingLease.CreateAsync(new NatPmpPortMapper(target, options.Timeouts, time), request, time, ct);
                }
                catch (PortMappingException e)
                {
                    failures.Add($"NAT-PMP: {e.Message}");
                }
            }
        }
        var local = gateway is null ? "this computer" : LocalInterface.AddressFor(gateway).ToString();
        throw new PortMappingException(
            $"Could not map {request.Protocol} port {request.ExternalPort} on the router. " + string.Join(" ", failures) +
            $" To be reachable anyway, forward {request.Protocol} port {request.ExternalPort} to {local}:{request.InternalPort} in your router's settings.");
    }

}
