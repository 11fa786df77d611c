using System.Net;
using Grpc.Core;
using Hivemind.Coordinator.Reachability;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Relay;

namespace Hivemind.Coordinator.Relays;

/// <summary>
/// RelayRegistry/RegisterRelay: lists a relay only at the address its registration came from, on a port the coordinator dialed back
/// recently, and only when the relay there signs a fresh nonce with the registering session's key (relay.proto).
/// </summary>
public sealed class RelayRegistryService(CoordinatorEngine engine, ReachabilityChecker reachability, RelayDirectory registry, RelayProbe probe)
    : Protocol.V1.RelayRegistry.RelayRegistryBase
{
    /// <summary>How old a positive dial-back may be for registration.</summary>
    public static readonly TimeSpan CheckValidFor = TimeSpan.FromMinutes(10);

    public override async Task<RegisterRelayReply> RegisterRelay(RegisterRelayRequest request, ServerCallContext context)
    {
        try
        {
            ProtocolVersion.Require(request.ProtocolVersion);
            var volunteer = engine.Authenticate(request.SessionToken);
            if (request.Port is < 1 or > 65535)
                throw new ProtocolException(RejectReason.MalformedRequest, $"port {request.Port} is not a TCP port; give the public port the relay listens on, 1..65535");
            var caller = context.GetHttpContext().Connection.RemoteIpAddress
                ?? throw new ProtocolException(RejectReason.MalformedRequest, "the connection has no remote IP address, so there is no address to list");
            if (caller.IsIPv4MappedToIPv6) caller = caller.MapToIPv4();
            var endpoint = new IPEndPoint(caller, (int)request.Port);
            if (!reachability.ConfirmedRecently(caller, endpoint.Port, CheckValidFor))
                throw new ProtocolException(RejectReason.MalformedRequest,
                    $"no successful reachability check of {endpoint} in the last {CheckValidFor.TotalMinutes:0} minutes; call Reachability/CheckReachable with port {endpoint.Port} first");
            var (key, why) = await probe.IdentifyAsync(endpoint, context.CancellationToken);
            if (key is null) throw new ProtocolException(RejectReason.MalformedRequest, why + "; start the volunteer with --relay on that port");
            if (!key.AsSpan().SequenceEqual(volunteer.PublicKey))
                throw new ProtocolException(RejectReason.VolunteerMismatch,
                    $"the relay at {endpoint} runs under key {Convert.ToHexStringLower(key)[..12]}…, not this session's {volunteer.Id[..12]}…; a key registers only a relay it runs");
            registry.Register(volunteer.Id, request.SessionToken, endpoint);
            return new RegisterRelayReply
            {
                ProtocolVersion = ProtocolVersion.Current,
                Advertised = RelayAddressPolicy.Format(endpoint),
                Advice = "other volunteers are sent here for the parameters this volunteer downloads, for as long as its session lasts",
            };
        }
        catch (ProtocolException e)
        {
            throw e.ToRpcException();
        }
    }
}
