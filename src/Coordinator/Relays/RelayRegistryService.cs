using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Coordinator.Services;
using Hivemind.Coordinator.Reachability;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Relay;

namespace Hivemind.Coordinator.Relays;

/// <summary>
/// RelayRegistry/RegisterRelay: lists a relay only at the address its registration came from, on a port the coordinator dialed back
/// recently, and only when the relay there signs a fresh nonce with the registering session's key (relay.proto). Rejections are
/// <see cref="ProtocolException"/>s; <see cref="RejectionInterceptor"/> turns them into statuses with a reason trailer.
/// </summary>
public sealed class RelayRegistryService(CoordinatorEngine engine, ReachabilityChecker reachability, RelayDirectory registry, RelayProbe probe,
    ParameterCache parameters, ChunkManifestBook manifests, RelayReports reports)
    : Protocol.V1.RelayRegistry.RelayRegistryBase
{
    /// <summary>How old a positive dial-back may be for registration.</summary>
    public static readonly TimeSpan CheckValidFor = TimeSpan.FromMinutes(10);

    public override async Task<RegisterRelayReply> RegisterRelay(RegisterRelayRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var volunteer = engine.Authenticate(request.SessionToken);
        if (registry.DroppedBecause(volunteer.Id) is { } dropped)
            throw new ProtocolException(RejectReason.Banned, $"this key's relay was dropped ({dropped}); it may still train, but not relay");
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

    public override Task<ChunkManifestReply> GetChunkManifest(ChunkManifestRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var (manifest, entry) = Leased(request.SessionToken, request.ModelVersion, request.WorkUnitId);
        var reply = new ChunkManifestReply
        {
            ProtocolVersion = ProtocolVersion.Current,
            ModelVersion = manifest.Version,
            ContentSha256 = ByteString.CopyFrom(entry.Sha256),
            TotalBytes = (ulong)manifest.TotalBytes,
            ChunkBytes = (uint)manifest.ChunkBytes,
            CoordinatorKey = ByteString.CopyFrom(manifest.CoordinatorKey),
            Signature = ByteString.CopyFrom(manifest.Signature),
        };
        for (int i = 0; i < manifest.ChunkCount; i++) reply.ChunkSha256.Add(ByteString.CopyFrom(manifest.HashOf(i)));
        return Task.FromResult(reply);
    }

    public override Task<CoordinatorChunkReply> DownloadChunk(CoordinatorChunkRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var (manifest, entry) = Leased(request.SessionToken, request.ModelVersion, request.WorkUnitId);
        if (request.Index >= manifest.ChunkCount)
            throw new ProtocolException(RejectReason.MalformedRequest, $"chunk {request.Index} is out of range; the manifest has chunks 0..{manifest.ChunkCount - 1}");
        int index = (int)request.Index;
        int length = manifest.ChunkLength(index);
        long allowance = (long)engine.Options.MaxDownloadsPerLease * manifest.TotalBytes;
        if (!manifests.TryCharge(request.ModelVersion, request.WorkUnitId, length, allowance))
            throw new ProtocolException(RejectReason.RateLimited,
                $"work unit '{request.WorkUnitId}' already took {engine.Options.MaxDownloadsPerLease} downloads' worth of chunks; keep the chunks you have or request new work");
        engine.CountBytesSent(length);
        return Task.FromResult(new CoordinatorChunkReply { Data = ByteString.CopyFrom(entry.Bytes, index * manifest.ChunkBytes, length) });
    }

    public override Task<RelayReportReply> ReportRelay(RelayReportRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var reporter = engine.Authenticate(request.SessionToken);
        return Task.FromResult(reports.Judge(reporter.Id, request));
    }

    /// <summary>The manifest and bytes of a unit leased to this session at the current version; computed and signed here, once per content.</summary>
    private (Protocol.Relays.ChunkManifest Manifest, ParameterCache.Entry Entry) Leased(string session, ulong version, string workUnitId)
    {
        var shard = engine.LeasedShard(session, (long)version, workUnitId);
        var entry = parameters.Get((long)version, shard, () => engine.ShardParameters(session, (long)version, workUnitId));
        return (manifests.Issue(version, entry.Sha256, entry.Bytes), entry);
    }
}
