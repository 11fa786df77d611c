using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Relay;
using System.Net;

namespace Hivemind.Adversarial.Tests.Infrastructure;

/// <summary>How a relay gets listed, as the relay tests need it: the key joins, the coordinator dials its port back, it registers.</summary>
internal static class RelayListing
{
    /// <summary>Joins with <paramref name="identity"/>, has the relay at <paramref name="port"/> checked and registered, leases it a unit and downloads that unit's payload.</summary>
    public static async Task<(Attacker.Key Key, byte[] Payload, Protocol.V1.WorkUnit Unit)> ListAsync(LoopbackCoordinator c, Attacker attacker, VolunteerIdentity identity, int port)
    {
        var key = await attacker.JoinAsync(identity: identity);
        using var channel = GrpcChannel.ForAddress(c.Address);
        var check = await new Reachability.ReachabilityClient(channel).CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = ProtocolVersion.Current, Port = (uint)port });
        Assert.True(check.Reachable, check.Advice);
        await RegisterAsync(channel, key.Session, port);
        var unit = await attacker.LeaseAsync(key);
        using var call = attacker.Client.DownloadParameters(new DownloadRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = key.Session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId,
        });
        var (_, payload) = await DownloadStream.ReadAsync(call.ResponseStream, ProtocolLimits.Default, CancellationToken.None);
        return (key, payload, unit);
    }

    /// <summary>Every test volunteer and relay connects from 127.0.0.1, so the one-check-per-address-per-minute limit is lifted.</summary>
    public static readonly Coordinator.Reachability.ReachabilityOptions OneAddress =
        Coordinator.Reachability.ReachabilityOptions.Default with { PerCallerInterval = TimeSpan.Zero };

    /// <summary>Bound on any one wait of a relay test (a volunteer's run, a relay's first request).</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    /// <summary>
    /// A coordinator whose <paramref name="quorum"/> no relay test reaches, so no round closes (and no new version is downloaded) while
    /// a test counts the coordinator's bytes.
    /// </summary>
    public static Task<LoopbackCoordinator> StartCoordinatorAsync(int quorum) => LoopbackCoordinator.StartAsync(
        dir => EngineHarness.TinyOptions(dir) with { Quorum = quorum, ProbationSlots = quorum, MaxRounds = 3 }, reachability: OneAddress);

    /// <summary>Runs an honest relay for <paramref name="identity"/>, lists it and has it hold the version it downloaded (returned too).</summary>
    public static async Task<(RelayServer Server, byte[] Payload)> StartHonestRelayAsync(LoopbackCoordinator c, Attacker attacker, VolunteerIdentity identity)
    {
        var server = await RelayServer.StartAsync(new RelayOptions(0, IPAddress.Loopback), identity, TimeProvider.System);
        var (_, payload, held) = await ListAsync(c, attacker, identity, server.Port);
        server.Holdings.Hold(held.ModelVersion, held.ParametersSha256.Span, payload);
        return (server, payload);
    }

    /// <summary>Runs the lying relay, lists it (join, dial-back, registration) and lets it download the honest bytes it will lie with.</summary>
    public static async Task<(HostileRelay Relay, Attacker.Key Key)> StartHostileRelayAsync(LoopbackCoordinator c, Attacker attacker, RelayLie lie)
    {
        var identity = attacker.NewIdentity();
        var relay = new HostileRelay(identity, lie);
        await relay.StartAsync();
        (var key, relay.Payload, _) = await ListAsync(c, attacker, identity, relay.Port);
        return (relay, key);
    }

    public static async Task<RegisterRelayReply> RegisterAsync(GrpcChannel channel, string session, int port) =>
        await new RelayRegistry.RelayRegistryClient(channel).RegisterRelayAsync(new RegisterRelayRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session, Port = (uint)port });
}
