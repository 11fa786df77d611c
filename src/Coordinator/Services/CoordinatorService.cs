using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Coordinator.Relays;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Ledger;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Work;
using Hivemind.Training;
using CoreWorkUnit = Hivemind.Coordinator.Rounds.WorkUnit;
using WireWorkUnit = Hivemind.Protocol.V1.WorkUnit;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// The gRPC face of <see cref="CoordinatorEngine"/>: maps messages and streams payloads. Rejections are thrown as
/// <see cref="ProtocolException"/>; <see cref="RejectionInterceptor"/> turns them into statuses with a reason trailer.
/// </summary>
[BindServiceMethod(typeof(CoordinatorService), nameof(BindService))]
public sealed class CoordinatorService : Protocol.V1.Coordinator.CoordinatorBase
{
    /// <summary>
    /// How ASP.NET Core's gRPC binds this service (found through the attribute above): the generated binding, with SubmitUpdate's
    /// messages read in place (<see cref="InPlaceUpdateChunks"/>). The second parameter's type must stay the generated base class:
    /// the binder matches each handler's base definition against it.
    /// </summary>
    public static void BindService(ServiceBinderBase binder, Protocol.V1.Coordinator.CoordinatorBase service) =>
        Protocol.V1.Coordinator.BindService(new SubmitUpdateBinder(binder), service);

    private readonly CoordinatorEngine _engine;
    private readonly ParameterCache _parameters;
    private readonly ProtocolLimits _limits;
    private readonly RelayDirectory? _relays;
    private readonly TransferBook _transfers;
    private long _bytesReceived;

    /// <param name="transfers">Uploads and downloads in flight, for the dashboard (issue 14).</param>
    /// <param name="relays">Live relays to list in work replies (issue 17); null lists none.</param>
    public CoordinatorService(CoordinatorEngine engine, ParameterCache parameters, ProtocolLimits limits, TransferBook transfers, RelayDirectory? relays = null)
    {
        _engine = engine;
        _parameters = parameters;
        _limits = limits;
        _relays = relays;
        _transfers = transfers;
    }

    /// <summary>Payload bytes SubmitUpdate read in full (the announced length), accepted or not, since this process started; streams refused from their envelope are never read.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public override Task<ChallengeReply> GetChallenge(ChallengeRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var (nonce, expires) = _engine.IssueChallenge(request.PublicKey.ToByteArray());
        return Task.FromResult(new ChallengeReply { ProtocolVersion = ProtocolVersion.Current, Nonce = ByteString.CopyFrom(nonce), ExpiresUnixMs = expires.ToUnixTimeMilliseconds(), RunId = ByteString.CopyFrom(_engine.RunId) });
    }

    public override async Task<JoinReply> Join(JoinRequest request, ServerCallContext context)
    {
        // Awaits the group commit: the request thread goes back to the pool while the join's batch is made durable.
        var (id, token) = await _engine.JoinAsync(request.ProtocolVersion, request.PublicKey.ToByteArray(), request.Nonce.ToByteArray(), request.Signature.ToByteArray(),
            request.DeclaredMemoryBytes, request.Device, request.AdmissionToken, Source(context), request.ClientName, request.RunId.ToByteArray());
        return new JoinReply
        {
            ProtocolVersion = ProtocolVersion.Current,
            VolunteerId = id,
            SessionToken = token,
            HeartbeatIntervalMs = (uint)_engine.Options.HeartbeatInterval.TotalMilliseconds,
            MaxUpdateBytes = (ulong)_limits.MaxUpdateBytes,
            MaxDownloadBytes = (ulong)_limits.MaxDownloadBytes,
            MaxChunkBytes = (uint)_limits.MaxChunkBytes,
            RunId = ByteString.CopyFrom(_engine.RunId),
        };
    }

    public override async Task<WorkReply> RequestWork(WorkRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        // Awaits the lease's group commit: the request thread goes back to the pool while its batch is made durable.
        var decision = await _engine.RequestWorkAsync(request.SessionToken, request.Eager);
        if (decision.Unit is null)
            return new WorkReply { ProtocolVersion = ProtocolVersion.Current, NoWork = new NoWork { RetryAfterMs = (uint)decision.RetryAfter.TotalMilliseconds, Reason = decision.Reason } };
        var unit = decision.Unit;
        var encoded = _parameters.Get(unit.Version, unit.Shard, () => _engine.ShardParameters(request.SessionToken, unit.Version, unit.Id));
        var reply = new WorkReply { ProtocolVersion = ProtocolVersion.Current, WorkUnit = ToWire(unit, encoded.Sha256) };
        if (_relays is not null)
        {
            var requester = context.GetHttpContext()?.Connection.RemoteIpAddress;
            reply.Relays.AddRange(_relays.Lease(_engine.Authenticate(request.SessionToken).Id, requester, unit.Version, encoded.Sha256));
        }
        return reply;
    }

    public override async Task DownloadParameters(DownloadRequest request, IServerStreamWriter<DownloadChunk> responseStream, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        // Only while the lease is live, and a bounded number of times per lease.
        var shard = _engine.BeginDownload(request.SessionToken, (long)request.ModelVersion, request.WorkUnitId);
        string volunteerId = _engine.Authenticate(request.SessionToken).Id;
        // The lease keeps the entry's pooled compressed bytes from being reused until this stream has sent them, even if a new
        // version evicts the entry meanwhile.
        using var lease = _parameters.Acquire((long)request.ModelVersion, shard, () => _engine.ShardParameters(request.SessionToken, (long)request.ModelVersion, request.WorkUnitId));
        var entry = lease.Entry;
        var (metadata, bytes) = await SmallDownloadAsync(request, lease) ?? await FullDownloadAsync(request, lease);
        foreach (var (name, shape) in entry.Tensors)
        {
            var info = new TensorInfo { Name = name };
            info.Shape.AddRange(shape);
            metadata.Tensors.Add(info);
        }
        using (var transfer = _transfers.Begin(TransferDirection.Download, volunteerId, request.WorkUnitId, bytes.Length))
            await DownloadStream.WriteAsync(responseStream, metadata, bytes, context.CancellationToken, sent: transfer);
        _engine.CountBytesSent(bytes.Length);
    }

    /// <summary>The whole shard: compressed (lossless) when the volunteer says it decodes that, else plain fp32 (issue 16).</summary>
    private static async Task<(ParameterMetadata Metadata, ReadOnlyMemory<byte> Bytes)> FullDownloadAsync(DownloadRequest request, ParameterCache.Lease lease)
    {
        var entry = lease.Entry;
        var (codec, bytes, sha256) = (Codec.Fp32, (ReadOnlyMemory<byte>)entry.Bytes, entry.Sha256);
        if (request.AcceptedFullCodecs.Contains(Codec.Fp32ShuffleZstd))
        {
            var compressed = await lease.CompressedAsync();
            (codec, bytes, sha256) = (Codec.Fp32ShuffleZstd, compressed.Bytes, compressed.Sha256);
        }
        return (new ParameterMetadata { ModelVersion = request.ModelVersion, ContentSha256 = ByteString.CopyFrom(sha256), TotalBytes = (ulong)bytes.Length, Codec = codec }, bytes);
    }

    /// <summary>
    /// The steps from the volunteer's held version (θ_0 rebuilt from the seed is version 0) to the requested one, when it holds one, they
    /// are all kept and they are fewer bytes than the full download (issue 16).
    /// </summary>
    private async Task<(ParameterMetadata Metadata, ReadOnlyMemory<byte> Bytes)?> SmallDownloadAsync(DownloadRequest request, ParameterCache.Lease lease)
    {
        if (!request.HasHeldVersion || _engine.StepCodec is not { } codec) return null;
        ShardSpec held;
        try
        {
            held = new ShardSpec(request.HeldExperts.Select(e => new ExpertId((int)Math.Min(e.Layer, int.MaxValue), (int)Math.Min(e.Expert, int.MaxValue))).ToList());
        }
        catch (ArgumentException)
        {
            return null; // a malformed list of held experts earns the full shard, as if nothing were held
        }
        if (_engine.ShardSteps(request.SessionToken, (long)request.ModelVersion, request.WorkUnitId, (long)request.HeldVersion, held) is not { } found) return null;
        var (steps, rest) = found;
        if (!await StepsAreSmallerAsync(request, lease, steps.Sum(s => (long)s.Length) + (rest?.LongLength ?? 0))) return null;
        byte[] bytes = [.. steps.SelectMany(s => s), .. rest ?? []];
        return (new ParameterMetadata
        {
            ModelVersion = request.ModelVersion,
            ContentSha256 = ByteString.CopyFrom(System.Security.Cryptography.SHA256.HashData(bytes)),
            TotalBytes = (ulong)bytes.Length,
            Codec = codec.Codec.ToProto(),
            BaseVersion = request.HeldVersion,
            StepCount = (uint)steps.Count,
        }, bytes);
    }

    /// <summary>
    /// Whether <paramref name="stepsBytes"/> are fewer than the full download this request would get (<see cref="DownloadChoice"/>). The
    /// full size is the coordinator's own: fp32, or the compressed form when the volunteer decodes it, compressed only when the steps are
    /// not already smaller than any compressed form can be (its stored planes), so steady-state step downloads never pay for it.
    /// </summary>
    private static async Task<bool> StepsAreSmallerAsync(DownloadRequest request, ParameterCache.Lease lease, long stepsBytes)
    {
        var entry = lease.Entry;
        if (!DownloadChoice.SendSteps(stepsBytes, entry.Bytes.LongLength)) return false;
        if (!request.AcceptedFullCodecs.Contains(Codec.Fp32ShuffleZstd)) return true;
        long values = entry.Tensors.Sum(t => NamedTensor.ElementCount(t.Shape));
        if (DownloadChoice.SendSteps(stepsBytes, Fp32ShuffleZstd.MinimumEncodedLength(values))) return true;
        return DownloadChoice.SendSteps(stepsBytes, (await lease.CompressedAsync()).Length);
    }

    /// <summary>
    /// Header first: its shape, the envelope's signature, the session, the lease and the exact payload length are all checked before a
    /// payload byte is read. The payload then streams through the protocol's reader into memory (reserved against the global receive
    /// budget), rejected the moment it passes its expected length. A large payload is decoded, checked and staged under incoming/ while
    /// it arrives (<see cref="IncomingPayload"/>), but nothing counts until the stream has the exact length and hash; only then is it
    /// moved into updates/ and recorded.
    /// </summary>
    public override async Task<SubmitReply> SubmitUpdate(IAsyncStreamReader<UpdateChunk> requestStream, ServerCallContext context)
    {
        var options = _engine.Options;
        using var watchdog = new StreamWatchdog(_engine.Time, options.SubmitIdleTimeout, options.SubmitMinimumBytesPerSecond, context.CancellationToken);
        SubmitTicket? ticket = null;
        bool engineCounts = false; // the engine counts the rejections it decides itself
        try
        {
            var (header, _) = await UpdateStream.ReadHeaderAsync(requestStream, _limits, watchdog.Token);
            watchdog.Touch();
            var volunteer = _engine.Authenticate(header.SessionToken);
            engineCounts = true;
            ticket = _engine.BeginSubmit(header.Envelope.ToByteArray(), header.Signature.ToByteArray(), volunteer.Id);
            engineCounts = false;
            if (ticket.AlreadyAccepted is { } done)
            {
                // The same answer again; read the resent bytes to the stream's end first, so the call completes gracefully.
                await UpdateStream.DrainPayloadAsync(requestStream, ticket.ExpectedLength, _limits, watchdog.Token);
                return Accepted(done);
            }
            // Large payloads are decoded, checked and staged on disk while they arrive; the verdict still waits for the length and hash.
            using var transfer = _transfers.Begin(TransferDirection.Upload, ticket.VolunteerId, ticket.WorkUnitId, ticket.ExpectedLength);
            await using var payload = _engine.ReceivePayload(ticket, new FanOut(watchdog, transfer));
            payload.Timings.Mark(SubmitPhase.Opened);
            using (InPlaceUpdateChunks.Into(payload, _limits.MaxChunkBytes))
                await UpdateStream.ReadPayloadIntoAsync(requestStream, ticket.Envelope, ticket.ExpectedLength, payload.Buffer, _limits, watchdog.Token, payload);
            payload.Timings.Mark(SubmitPhase.StreamChecked);
            Interlocked.Add(ref _bytesReceived, payload.Length);
            await payload.ProcessedAsync();
            engineCounts = true;
            return Accepted(_engine.CompleteSubmit(ticket, payload));
        }
        catch (OperationCanceledException) when (watchdog.Reason is not null)
        {
            _engine.CountRejection(RejectReason.TooSlow);
            throw watchdog.ToRejection();
        }
        catch (ProtocolException e) when (!engineCounts)
        {
            _engine.CountRejection(e.Reason);
            throw;
        }
        finally
        {
            ticket?.Dispose();
        }
    }

    /// <summary>The acknowledgement of an accepted update, with its ledger receipt (SubmitReply fields 30-33).</summary>
    private SubmitReply Accepted(long seq)
    {
        var reply = new SubmitReply { ProtocolVersion = ProtocolVersion.Current, Accepted = true, UpdateId = seq.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (_engine.Ledger.ReceiptForUpdate(seq) is { } receipt)
        {
            reply.LedgerLeafIndex = (ulong)receipt.LeafIndex;
            reply.LedgerEntry = ByteString.CopyFrom(receipt.Entry);
            reply.LedgerTreeHead = receipt.Head.ToWire();
            reply.LedgerInclusionProof.AddRange(receipt.Proof.Select(ByteString.CopyFrom));
        }
        return reply;
    }

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var (valid, deadline) = _engine.Heartbeat(request.SessionToken, request.WorkUnitId);
        return Task.FromResult(new HeartbeatReply { ProtocolVersion = ProtocolVersion.Current, Round = (ulong)_engine.Round, LeaseValid = valid, LeaseDeadlineUnixMs = valid ? deadline.ToUnixTimeMilliseconds() : 0 });
    }

    public override Task<LeaveReply> Leave(LeaveRequest request, ServerCallContext context)
    {
        _engine.Leave(request.SessionToken);
        return Task.FromResult(new LeaveReply());
    }

    public override Task<StatusReply> GetStatus(StatusRequest request, ServerCallContext context)
    {
        var s = _engine.Status();
        var reply = new StatusReply
        {
            ProtocolVersion = ProtocolVersion.Current,
            MinProtocolVersion = ProtocolVersion.Minimum,
            Round = (ulong)s.Round,
            ModelVersion = (ulong)s.Round,
            ActiveVolunteers = (uint)s.Volunteers,
            LeasedWorkUnits = (uint)s.LeasedUnits,
            AcceptedUpdates = (ulong)s.AcceptedUpdates,
            RejectedUpdates = (ulong)s.Rejections.Values.Sum(),
            LatestLoss = s.LastEvalLoss ?? double.NaN,
            OptimalLoss = _engine.OptimalLoss,
            ModelPreset = _engine.Options.Preset,
            BytesReceived = (ulong)BytesReceived,
            BytesSent = (ulong)_engine.BytesSent,
        };
        foreach (var (reason, count) in s.Rejections) reply.RejectionsByReason[reason] = (ulong)count;
        return Task.FromResult(reply);
    }

    /// <summary>The caller's address without its port: the unit join limits are charged to.</summary>
    private static string Source(ServerCallContext context) =>
        context.GetHttpContext()?.Connection.RemoteIpAddress?.ToString() ?? context.Peer;

    private static WireWorkUnit ToWire(CoreWorkUnit unit, byte[] parametersSha256)
    {
        var shard = new Shard { IncludesTrunk = true };
        shard.Experts.AddRange(unit.Shard.Experts.Select(e => new ExpertRef { Layer = (uint)e.Layer, Expert = (uint)e.Expert }));
        var data = DataSliceWire.ToWire(unit.Data);
        var t = unit.Training;
        var wire = new WireWorkUnit
        {
            WorkUnitId = unit.Id,
            RunId = ByteString.CopyFrom(unit.RunId),
            Round = (ulong)unit.Round,
            ModelVersion = (ulong)unit.Version,
            Shard = shard,
            Data = data,
            Hyperparameters = new Hyperparameters
            {
                InnerSteps = (uint)t.InnerSteps,
                BatchSize = (uint)t.BatchSize,
                SequenceLength = (uint)t.SeqLen,
                LearningRate = t.LearningRate,
                WeightDecay = t.WeightDecay,
                WarmupSteps = (uint)t.WarmupSteps,
                ClipNorm = t.ClipNorm,
                Seed = (ulong)t.Seed,
            },
            Codec = unit.Codec.ToProto(),
            DeadlineUnixMs = unit.Deadline.ToUnixTimeMilliseconds(),
            ModelPreset = unit.Preset,
            ModelConfigJson = JsonSerializer.Serialize(unit.Model),
            ParametersSha256 = ByteString.CopyFrom(parametersSha256),
            KeptPerBlock = (uint)unit.KeptPerBlock,
            EagerBaseUnitId = unit.BaseUnitId ?? "",
        };
        if (unit.InitSeed is { } seed) wire.InitSeed = unchecked((ulong)seed);
        return wire;
    }
}
