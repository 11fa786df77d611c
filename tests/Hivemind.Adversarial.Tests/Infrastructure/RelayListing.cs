using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;

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

    public static async Task<RegisterRelayReply> RegisterAsync(GrpcChannel channel, string session, int port) =>
        await new RelayRegistry.RelayRegistryClient(channel).RegisterRelayAsync(new RegisterRelayRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session, Port = (uint)port });
}
