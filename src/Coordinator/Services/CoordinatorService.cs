using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Storage;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;
using Hivemind.Training;
using CoreWorkUnit = Hivemind.Coordinator.Rounds.WorkUnit;
using WireWorkUnit = Hivemind.Protocol.V1.WorkUnit;

namespace Hivemind.Coordinator.Services;

/// <summary>The gRPC face of <see cref="CoordinatorEngine"/>: maps messages, streams payloads, turns rejections into statuses.</summary>
public sealed class CoordinatorService : Protocol.V1.Coordinator.CoordinatorBase
{
    private readonly CoordinatorEngine _engine;
    private readonly ParameterCache _parameters;
    private readonly ProtocolLimits _limits;
    private readonly string _incoming;
    private long _bytesReceived;

    public CoordinatorService(CoordinatorEngine engine, ParameterCache parameters, ProtocolLimits limits)
    {
        _engine = engine;
        _parameters = parameters;
        _limits = limits;
        _incoming = Path.Combine(engine.Options.DataDirectory, "incoming");
        Directory.CreateDirectory(_incoming);
    }

    /// <summary>Payload bytes streamed in by SubmitUpdate, accepted or not, since this process started.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public override Task<ChallengeReply> GetChallenge(ChallengeRequest request, ServerCallContext context) => Guard(() =>
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var (nonce, expires) = _engine.IssueChallenge(request.PublicKey.ToByteArray());
        return new ChallengeReply { ProtocolVersion = ProtocolVersion.Current, Nonce = ByteString.CopyFrom(nonce), ExpiresUnixMs = expires.ToUnixTimeMilliseconds() };
    });

    public override Task<JoinReply> Join(JoinRequest request, ServerCallContext context) => Guard(() =>
    {
        var (id, token) = _engine.Join(request.ProtocolVersion, request.PublicKey.ToByteArray(), request.Nonce.ToByteArray(), request.Signature.ToByteArray(),
            request.DeclaredMemoryBytes, request.Device, request.AdmissionToken);
        return new JoinReply
        {
            ProtocolVersion = ProtocolVersion.Current,
            VolunteerId = id,
            SessionToken = token,
            HeartbeatIntervalMs = (uint)_engine.Options.HeartbeatInterval.TotalMilliseconds,
            MaxUpdateBytes = (ulong)_limits.MaxUpdateBytes,
            MaxDownloadBytes = (ulong)_limits.MaxDownloadBytes,
            MaxChunkBytes = (uint)_limits.MaxChunkBytes,
        };
    });

    public override Task<WorkReply> RequestWork(WorkRequest request, ServerCallContext context) => Guard(() =>
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var decision = _engine.RequestWork(request.SessionToken);
        if (decision.Unit is null)
            return new WorkReply { ProtocolVersion = ProtocolVersion.Current, NoWork = new NoWork { RetryAfterMs = (uint)decision.RetryAfter.TotalMilliseconds, Reason = decision.Reason } };
        var unit = decision.Unit;
        var encoded = _parameters.Get(unit.Version, unit.Shard, () => _engine.ShardParameters(request.SessionToken, unit.Version, unit.Id));
        return new WorkReply { ProtocolVersion = ProtocolVersion.Current, WorkUnit = ToWire(unit, encoded.Sha256) };
    });

    public override async Task DownloadParameters(DownloadRequest request, IServerStreamWriter<DownloadChunk> responseStream, ServerCallContext context)
    {
        ParameterCache.Entry entry;
        try
        {
            ProtocolVersion.Require(request.ProtocolVersion);
            var shard = _engine.LeasedShard(request.SessionToken, (long)request.ModelVersion, request.WorkUnitId);
            entry = _parameters.Get((long)request.ModelVersion, shard, () => _engine.ShardParameters(request.SessionToken, (long)request.ModelVersion, request.WorkUnitId));
        }
        catch (ProtocolException e)
        {
            throw e.ToRpcException();
        }
        var metadata = new ParameterMetadata
        {
            ModelVersion = request.ModelVersion,
            ContentSha256 = ByteString.CopyFrom(entry.Sha256),
            TotalBytes = (ulong)entry.Bytes.Length,
            Codec = Codec.Fp32,
        };
        foreach (var (name, shape) in entry.Tensors)
        {
            var info = new TensorInfo { Name = name };
            info.Shape.AddRange(shape);
            metadata.Tensors.Add(info);
        }
        await DownloadStream.WriteAsync(responseStream, metadata, entry.Bytes, context.CancellationToken);
        _engine.CountBytesSent(entry.Bytes.Length);
    }

    public override async Task<SubmitReply> SubmitUpdate(IAsyncStreamReader<UpdateChunk> requestStream, ServerCallContext context)
    {
        string temp = Path.Combine(_incoming, Guid.NewGuid().ToString("N") + ".part");
        bool submitted = false;
        try
        {
            if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.PartCase != UpdateChunk.PartOneofCase.Header)
                throw new ProtocolException(RejectReason.MalformedRequest, "the first SubmitUpdate message must be the header with the signed envelope");
            var header = requestStream.Current.Header;
            ProtocolVersion.Require(header.ProtocolVersion);
            var volunteer = _engine.Authenticate(header.SessionToken);
            if (header.Envelope.Length > _limits.MaxEnvelopeBytes)
                throw new ProtocolException(RejectReason.Oversized, $"the envelope has {header.Envelope.Length} bytes; the limit is {_limits.MaxEnvelopeBytes}");

            long received = 0;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                // Pipelined: while the next message is received, the previous chunk is hashed and written (in parallel,
                // in order). Each chunk is its own buffer (protobuf copies bytes fields out of the transport's buffers).
                Task hashing = Task.CompletedTask, writing = Task.CompletedTask;
                try
                {
                    while (await requestStream.MoveNext(context.CancellationToken))
                    {
                        var part = requestStream.Current;
                        if (part.PartCase != UpdateChunk.PartOneofCase.Data)
                            throw new ProtocolException(RejectReason.MalformedRequest, "only data chunks may follow the header");
                        var data = part.Data.Memory;
                        if (data.Length > _limits.MaxChunkBytes)
                            throw new ProtocolException(RejectReason.Oversized, $"a chunk of {data.Length} bytes exceeds the limit of {_limits.MaxChunkBytes}");
                        long offset = received;
                        received += data.Length;
                        if (received > _limits.MaxUpdateBytes)
                            throw new ProtocolException(RejectReason.Oversized, $"the payload exceeds the limit of {_limits.MaxUpdateBytes} bytes");
                        await hashing;
                        await writing;
                        hashing = Task.Run(() => sha.AppendData(data.Span));
                        writing = Task.Run(() =>
                        {
                            RandomAccess.Write(file, data.Span, offset);
                            DurableFiles.StartWriteback(file, offset, data.Length); // so the final fsync finds little left to flush
                        });
                    }
                }
                finally
                {
                    // Never leave a hash or write running past this block (on failure, the first error wins).
                    await Task.WhenAll(hashing, writing).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
                await hashing;
                await writing;
                // Durable before the engine records it and before the reply acknowledges it.
                RandomAccess.FlushToDisk(file);
            }
            Interlocked.Add(ref _bytesReceived, received);
            submitted = true; // from here on the engine counts its own rejections
            long seq = _engine.Submit(new SubmittedUpdate(header.Envelope.ToByteArray(), header.Signature.ToByteArray(), temp, received, sha.GetHashAndReset(), volunteer.Id));
            return new SubmitReply { ProtocolVersion = ProtocolVersion.Current, Accepted = true, UpdateId = seq.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }
        catch (ProtocolException e)
        {
            if (!submitted) _engine.CountRejection(e.Reason);
            throw e.ToRpcException();
        }
        catch (InvalidDataException e)
        {
            // gRPC's own message-size limit, surfaced as a transport error.
            _engine.CountRejection(RejectReason.Oversized);
            throw RejectReasons.ToRpcException(RejectReason.Oversized, e.Message);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context) => Guard(() =>
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var (valid, deadline) = _engine.Heartbeat(request.SessionToken, request.WorkUnitId);
        return new HeartbeatReply { ProtocolVersion = ProtocolVersion.Current, Round = (ulong)_engine.Round, LeaseValid = valid, LeaseDeadlineUnixMs = valid ? deadline.ToUnixTimeMilliseconds() : 0 };
    });

    public override Task<LeaveReply> Leave(LeaveRequest request, ServerCallContext context) => Guard(() =>
    {
        _engine.Leave(request.SessionToken);
        return new LeaveReply();
    });

    public override Task<StatusReply> GetStatus(StatusRequest request, ServerCallContext context) => Guard(() =>
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
        return reply;
    });

    private static WireWorkUnit ToWire(CoreWorkUnit unit, byte[] parametersSha256)
    {
        var shard = new Shard { IncludesTrunk = true };
        shard.Experts.AddRange(unit.Shard.Experts.Select(e => new ExpertRef { Layer = (uint)e.Layer, Expert = (uint)e.Expert }));
        var data = new DataSlice
        {
            Kind = DatasetKind.Synthetic,
            CorpusSeed = (ulong)unit.Data.Corpus!.Seed,
            CorpusOrder = (uint)unit.Data.Corpus.Order,
            SliceSeed = (ulong)unit.Data.SliceSeed,
        };
        data.DomainMix.AddRange(unit.Data.DomainMix!.Select((w, d) => new DomainWeight { Domain = (uint)d, Weight = w }));
        var t = unit.Training;
        return new WireWorkUnit
        {
            WorkUnitId = unit.Id,
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
        };
    }

    private static Task<T> Guard<T>(Func<T> body)
    {
        try
        {
            return Task.FromResult(body());
        }
        catch (ProtocolException e)
        {
            throw e.ToRpcException();
        }
    }
}
