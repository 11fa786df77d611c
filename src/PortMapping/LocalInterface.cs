using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hivemind.PortMapping;

/// <summary>Which local address and default gateway this host uses; asks the OS, sends nothing.</summary>
public static class LocalInterface
{
    /// <summary>The local address the OS would use to reach <paramref name="remote"/> (connecting a UDP socket sends no packet), or 0.0.0.0 when there is no route.</summary>
    public static IPAddress AddressFor(IPAddress remote)
    {
        try
        {
            using var probe = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(new IPEndPoint(remote, DiscardPort));
            return ((IPEndPoint)probe.LocalEndPoint!).Address;
        }
        catch (SocketException)
        {
            return IPAddress.Any;
        }
    }

    /// <summary>The IPv4 default gateway from /proc/net/route (Linux), or null elsewhere or when there is none.</summary>
    public static IPAddress? DefaultGateway(string routeTable = "/proc/net/route")
    {
        if (!File.Exists(routeTable)) return null;
        return ParseDefaultGateway(File.ReadAllLines(routeTable));
    }

    /// <summary>Reads the first default route: destination 00000000 with the gateway flag, gateway in little-endian hex.</summary>
    internal static IPAddress? ParseDefaultGateway(IEnumerable<string> lines)
    {
        const int GatewayFlag = 0x2;
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4 || f[1] != "00000000") continue;
            if (!uint.TryParse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var gw) || gw == 0) continue;
            if (!int.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags) || (flags & GatewayFlag) == 0) continue;
            return new IPAddress(BitConverter.GetBytes(gw)); // /proc prints the address in host (little-endian) order
        }
        return null;
    }

    /// <summary>Any port works for a route look-up; the discard port says no traffic is meant.</summary>
    private const int DiscardPort = 9;
}
