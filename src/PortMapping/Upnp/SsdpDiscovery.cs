using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hivemind.PortMapping.Upnp;

/// <summary>Finds a UPnP Internet Gateway Device with an SSDP M-SEARCH (UPnP Device Architecture 1.1 §1.3.2).</summary>
public sealed class SsdpDiscovery
{
    /// <summary>The SSDP multicast group and port every UPnP device listens on.</summary>
    public static readonly IPEndPoint MulticastEndPoint = new(IPAddress.Parse("239.255.255.250"), 1900);

    /// <summary>Search targets: the IGD itself and its WAN connection services (routers answer to any of them).</summary>
    internal static readonly string[] SearchTargets =
    [
        "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
        "urn:schemas-upnp-org:service:WANIPConnection:1",
        "urn:schemas-upnp-org:service:WANPPPConnection:1",
    ];

    /// <summary>MX: how many seconds a device may wait before answering (the spec's minimum is 1).</summary>
    private const int MaxWaitSeconds = 1;
    /// <summary>UDA 1.1 recommends TTL 2 for M-SEARCH: the gateway is on this LAN.</summary>
    private const int MulticastHops = 2;
    /// <summary>SSDP answers are small; a bigger datagram is not an SSDP answer.</summary>
    private const int MaxDatagramBytes = 8192;

    private readonly IPEndPoint _target;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    /// <param name="target">Where to send the M-SEARCH: <see cref="MulticastEndPoint"/>, or a gateway's unicast address (tests, or a router the user names).</param>
    public SsdpDiscovery(IPEndPoint target, TimeSpan timeout, TimeProvider? time = null)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentException($"SSDP timeout {timeout} must be positive.", nameof(timeout));
        _target = target;
        _timeout = timeout;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// The LOCATION of the first gateway that answers, or a <see cref="PortMappingException"/> saying no gateway answered.
    /// Answers whose LOCATION points at a host other than the one that answered are ignored: a device on the LAN must
    /// not be able to send us to fetch XML from an arbitrary host.
    /// </summary>
    public async Task<Uri> DiscoverAsync(CancellationToken ct = default)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        // Bound to the interface that routes to the target, so answers are only taken on that interface.
        var local = LocalInterface.AddressFor(_target.Address);
        socket.Bind(new IPEndPoint(local, 0));
        if (IsMulticast(_target.Address)) socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, MulticastHops);
        try
        {
            foreach (var st in SearchTargets)
                await socket.SendToAsync(Encoding.ASCII.GetBytes(BuildSearch(st)), SocketFlags.None, _target, ct);
        }
        catch (SocketException e)
        {
            throw new PortMappingException(
                $"Could not send the UPnP search to {_target} from {local} ({e.SocketErrorCode}): this computer has no route to its router. Check the network connection, or forward the port by hand.", e);
        }

        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var buffer = new byte[MaxDatagramBytes];
        var ignored = new List<string>();
        try
        {
            while (true)
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), linked.Token);
                var from = (IPEndPoint)received.RemoteEndPoint;
                var text = Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes);
                var location = ParseResponse(text, from.Address, out var why);
                if (location is not null) return location;
                ignored.Add($"{from}: {why}");
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            var detail = ignored.Count == 0 ? "" : $" ({ignored.Count} unusable answer(s), first: {ignored[0]})";
            throw new PortMappingException(
                $"No UPnP gateway answered within {_timeout.TotalSeconds:0.##} s on {local} (SSDP M-SEARCH to {_target}){detail}. " +
                "Enable UPnP (sometimes called 'UPnP IGD' or 'automatic port forwarding') on your router, or forward the port by hand.");
        }
    }

    internal static string BuildSearch(string searchTarget) =>
        "M-SEARCH * HTTP/1.1\r\n" +
        $"HOST: {MulticastEndPoint}\r\n" +
        "MAN: \"ssdp:discover\"\r\n" +
        $"MX: {MaxWaitSeconds}\r\n" +
        $"ST: {searchTarget}\r\n\r\n";

    /// <summary>The LOCATION of a usable answer, or null with the reason it is unusable.</summary>
    internal static Uri? ParseResponse(string text, IPAddress from, out string why)
    {
        var lines = text.Split("\r\n");
        if (lines.Length == 0 || !lines[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !lines[0].Contains(" 200", StringComparison.Ordinal))
        {
            why = $"not an SSDP 200 answer: '{Truncate(lines.Length == 0 ? "" : lines[0])}'";
            return null;
        }
        string? location = null, st = null;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("LOCATION", StringComparison.OrdinalIgnoreCase)) location = value;
            else if (name.Equals("ST", StringComparison.OrdinalIgnoreCase)) st = value;
        }
        if (st is not null && !SearchTargets.Contains(st, StringComparer.OrdinalIgnoreCase))
        {
            why = $"answered for '{Truncate(st)}', not an Internet gateway";
            return null;
        }
        if (location is null || !Uri.TryCreate(location, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            why = location is null ? "no LOCATION header" : $"LOCATION '{Truncate(location)}' is not an http URL";
            return null;
        }
        if (!IPAddress.TryParse(uri.Host, out var host) || !host.Equals(from.IsIPv4MappedToIPv6 ? from.MapToIPv4() : from))
        {
            why = $"LOCATION host '{uri.Host}' is not the address that answered ({from})";
            return null;
        }
        why = "";
        return uri;
    }

    private static bool IsMulticast(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork && a.GetAddressBytes()[0] is >= 224 and <= 239;

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "…";
}
