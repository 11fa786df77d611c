using System.Net;
using Hivemind.PortMapping;

namespace Hivemind.Coordinator.Reachability;

/// <summary>
/// What <c>serve --upnp</c> does: maps the coordinator's TCP port on the home router (UPnP-IGD, then NAT-PMP), reports the public
/// address, and tries the address from inside. A failed mapping is reported with the manual fix and the coordinator keeps serving
/// its own network.
/// </summary>
public static class CoordinatorPortMapping
{
    /// <summary>Refuses listen addresses the router cannot forward to, before anything is started.</summary>
    public static void EnsureMappable(string listenHost)
    {
        if (listenHost is "localhost" || (IPAddress.TryParse(listenHost, out var a) && IPAddress.IsLoopback(a)))
            throw new ArgumentException($"--upnp needs the coordinator to listen where the router can reach it, not on --host {listenHost}: use --host 0.0.0.0 (or this computer's LAN address).");
    }

    /// <summary>Maps <paramref name="port"/>, logs the outcome; null when no router mapped it (the message says what to do).</summary>
    public static async Task<PortMappingLease?> TryMapAsync(int port, ILogger log, CancellationToken ct, PortMapperOptions? options = null, ITcpDialer? dialer = null)
    {
        try
        {
            var lease = await PortMapper.MapAsync(PortMappingRequest.Tcp(port, "Hivemind coordinator"), options ?? PortMapperOptions.Default, ct: ct);
            var m = lease.Current;
            lease.RenewalFailed += e => log.LogWarning("port mapping renewal failed, retrying: {Error}", e.Message);
            log.LogInformation("public address: http://{Endpoint} ({Method} at {Gateway} forwards TCP {External} to {Client}:{Port}; lease {Lease}, renewed at half-life, removed on exit)",
                m.ExternalEndPoint, m.Method, m.Gateway, m.ExternalPort, m.InternalClient, m.InternalPort,
                m.Lifetime == TimeSpan.Zero ? "permanent" : $"{m.Lifetime.TotalSeconds:0} s");
            if (!m.ExternalAddressIsPublic)
                log.LogWarning("the router's external address {Address} is private or shared (a second router, or carrier-grade NAT): volunteers on the internet cannot reach {Endpoint}. Ask the provider for a public IPv4 address, or host the coordinator elsewhere.", m.ExternalAddress, m.ExternalEndPoint);
            await SelfDialAsync(m.ExternalEndPoint, dialer ?? new TcpDialer(), log, ct);
            return lease;
        }
        catch (PortMappingException e)
        {
            log.LogError("--upnp: {Error} The coordinator keeps serving its own network.", e.Message);
            return null;
        }
    }

    /// <summary>How long the self-dial waits; a loopback through the router is immediate when supported.</summary>
    private static readonly TimeSpan SelfDialTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Dials the public address from inside. Success proves the forward; failure proves little, since many routers do not
    /// loop traffic back ("hairpin"), so it is reported as inconclusive with a way to check from outside.
    /// </summary>
    private static async Task SelfDialAsync(IPEndPoint external, ITcpDialer dialer, ILogger log, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(SelfDialTimeout);
        try
        {
            await dialer.DialAsync(external, timeout.Token);
            log.LogInformation("self-test: {Endpoint} accepted a connection through the router", external);
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException && !ct.IsCancellationRequested)
        {
            log.LogWarning("self-test inconclusive: {Endpoint} did not accept a connection from inside ({Reason}); many routers do not loop back their own public address. " +
                "Check from outside your network (e.g. a phone off Wi-Fi: `hivemind-portmap`'s README section 'Reachable from home'), or watch for volunteers joining.",
                external, e is OperationCanceledException ? "no answer" : e.Message);
        }
    }
}
