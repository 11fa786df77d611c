using System.Net;
using Grpc.Core;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.V1;

namespace Hivemind.Coordinator.Reachability;

/// <summary>gRPC shell around <see cref="ReachabilityChecker"/>: the caller's address comes from the connection, never from the request.</summary>
public sealed class ReachabilityService(ReachabilityChecker checker) : Protocol.V1.Reachability.ReachabilityBase
{
    public override async Task<ReachabilityReply> CheckReachable(ReachabilityRequest request, ServerCallContext context)
    {
        try
        {
            ProtocolVersion.Require(request.ProtocolVersion);
            var caller = CallerAddress(context)
                ?? throw new ProtocolException(RejectReason.MalformedRequest, "the connection has no remote IP address (not a TCP connection), so there is nothing to dial back");
            var verdict = await checker.CheckAsync(caller, (int)Math.Min(request.Port, int.MaxValue), context.CancellationToken);
            return new ReachabilityReply
            {
                ProtocolVersion = ProtocolVersion.Current,
                Reachable = verdict.Reachable,
                Dialed = verdict.Dialed.ToString(),
                Advice = verdict.Advice,
                ElapsedMs = (uint)Math.Min(verdict.Elapsed.TotalMilliseconds, uint.MaxValue),
                PrivateNetwork = verdict.PrivateNetwork,
            };
        }
        catch (ProtocolException e)
        {
            throw e.ToRpcException();
        }
    }

    private static IPAddress? CallerAddress(ServerCallContext context) => context.GetHttpContext().Connection.RemoteIpAddress;
}
