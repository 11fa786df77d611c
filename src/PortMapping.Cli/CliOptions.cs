using System.Net;
using Hivemind.PortMapping.NatPmp;

namespace Hivemind.PortMapping.Cli;

/// <summary>Turns the command line's method and gateway flags into <see cref="PortMapperOptions"/>, with errors that name the value.</summary>
internal static class CliOptions
{
    private const int SsdpPort = 1900;

    public static PortMapperOptions Parse(string method, string? ssdp, string? gateway)
    {
        var (upnp, natPmp) = method switch
        {
            "auto" => (true, true),
            "upnp" => (true, false),
            "natpmp" => (false, true),
            _ => throw new ArgumentException($"--method '{method}' is not known: give upnp, natpmp or auto."),
        };
        IPEndPoint? ssdpTarget = null;
        if (ssdp is not null && !IPEndPoint.TryParse(ssdp, out ssdpTarget))
            throw new ArgumentException($"--ssdp '{ssdp}' is not an address[:port], e.g. 192.168.1.1:1900.");
        if (ssdpTarget is not null && ssdpTarget.Port == 0) ssdpTarget.Port = SsdpPort;
        IPEndPoint? natPmpGateway = null;
        if (gateway is not null)
        {
            if (!IPAddress.TryParse(gateway, out var address))
                throw new ArgumentException($"--gateway '{gateway}' is not an IP address, e.g. 192.168.1.1.");
            natPmpGateway = new IPEndPoint(address, NatPmpPortMapper.GatewayPort);
        }
        return new PortMapperOptions(PortMappingTimeouts.Default, ssdpTarget, natPmpGateway, upnp, natPmp);
    }
}
