using Grpc.Core;
using Hivemind.Protocol;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;

namespace Hivemind.Volunteer.Relay;

/// <summary>
/// A running relay and its listing at the coordinator: after each join it asks for a dial-back on its public port
/// (Reachability/CheckReachable) and, if reachable, registers (RelayRegistry/RegisterRelay). Either failing leaves a plain volunteer
/// with a line saying why and what to do; training never depends on it.
/// </summary>
public sealed class RelayNode(RelayServer server, RelayOptions options, Reachability.ReachabilityClient reachability, RelayRegistry.RelayRegistryClient registry)
{
    /// <summary>Deadline of the check and the registration (the coordinator's dial-back takes at most a few seconds).</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public RelayServer Server => server;

    /// <summary>The port the coordinator should dial: the router's external port, else the one the relay listens on.</summary>
    public int PublicPort => options.PublicPort > 0 ? options.PublicPort : server.Port;

    /// <summary>The address volunteers are given, once registered in the current session.</summary>
    public string? Advertised { get; private set; }

    /// <summary>Checks reachability and registers for <paramref name="session"/>; returns whether the relay is listed.</summary>
    public async Task<bool> RegisterAsync(string session, IVolunteerView view, CancellationToken ct)
    {
        Advertised = null;
        try
        {
            var check = await reachability.CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = ProtocolVersion.Current, Port = (uint)PublicPort },
                deadline: DateTime.UtcNow + CallTimeout, cancellationToken: ct);
            if (!check.Reachable)
            {
                view.Info($"relay not listed: {check.Advice}");
                return false;
            }
            var reply = await registry.RegisterRelayAsync(new RegisterRelayRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session, Port = (uint)PublicPort },
                deadline: DateTime.UtcNow + CallTimeout, cancellationToken: ct);
            Advertised = reply.Advertised;
            view.Info($"relay listed as {reply.Advertised}: {reply.Advice}");
            return true;
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            view.Info($"relay not listed ({e.StatusCode}): {e.Status.Detail}. Training continues; the relay is retried at the next join.");
            return false;
        }
    }
}
