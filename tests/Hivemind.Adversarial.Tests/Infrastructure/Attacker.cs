using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;
using CoordinatorClient = Hivemind.Protocol.V1.Coordinator.CoordinatorClient;

namespace Hivemind.Adversarial.Tests.Infrastructure;

/// <summary>
/// A client written from the .proto alone, as an attacker would: it joins with its own keys, leases units and sends whatever bytes it
/// likes over a real gRPC channel to a loopback coordinator. Also runs honest units, to show honest volunteers keep training.
/// </summary>
public sealed class Attacker : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly List<VolunteerIdentity> _keys = [];

    public Attacker(LoopbackCoordinator coordinator)
    {
        Coordinator = coordinator;
        _channel = GrpcChannel.ForAddress(coordinator.Address, new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
        Client = new CoordinatorClient(_channel);
    }

    public LoopbackCoordinator Coordinator { get; }

    public CoordinatorClient Client { get; }

    /// <summary>A joined key with its session.</summary>
    public sealed record Key(VolunteerIdentity Identity, string Session, string Id);

    public async Task<Key> JoinAsync(string device = "cpu", VolunteerIdentity? identity = null, long memory = EngineHarness.VolunteerMemory)
    {
        identity ??= NewIdentity();
        var challenge = await Client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey) });
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, (ulong)memory, device, "");
        var join = await Client.JoinAsync(new JoinRequest
        {
            ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey), Nonce = challenge.Nonce, RunId = challenge.RunId,
            Signature = ByteString.CopyFrom(signature), DeclaredMemoryBytes = (ulong)memory, Device = device,
        });
        return new Key(identity, join.SessionToken, join.VolunteerId);
    }

    public VolunteerIdentity NewIdentity()
    {
        var identity = VolunteerIdentity.Create();
        _keys.Add(identity);
        return identity;
    }

    public async Task<WorkReply> AskAsync(Key key) =>
        await Client.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = key.Session });

    public async Task<Protocol.V1.WorkUnit> LeaseAsync(Key key)
    {
        var reply = await AskAsync(key);
        if (reply.ResultCase != WorkReply.ResultOneofCase.WorkUnit) throw new InvalidOperationException($"expected a work unit, got no-work: {reply.NoWork.Reason}");
        return reply.WorkUnit;
    }

    /// <summary>Downloads over gRPC and trains the unit honestly.</summary>
    public async Task<TrainedUpdate> TrainAsync(Key key, Protocol.V1.WorkUnit unit)
    {
        using var call = Client.DownloadParameters(new DownloadRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = key.Session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId,
        });
        var (_, bytes) = await DownloadStream.ReadAsync(call.ResponseStream, ProtocolLimits.Default, CancellationToken.None);
        var parameters = TensorCodec.Decode(bytes, bytes.LongLength).Tensors;
        var spec = VolunteerClient.ToSpec(unit);
        return await Task.Factory.StartNew(() => WorkUnitRunner.Run(spec, parameters, key.Identity), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Re-signs a payload with any envelope fields the attacker chooses.</summary>
    public static SignedEnvelope Sign(Key key, Protocol.V1.WorkUnit unit, byte[] payload, ulong? tokens = null, double meanLoss = 3.0, ulong? payloadLength = null, byte[]? runId = null)
    {
        var spec = VolunteerClient.ToSpec(unit);
        var envelope = new UpdateEnvelope(ProtocolVersion.Current, key.Identity.PublicKey, unit.WorkUnitId, unit.Round, unit.ModelVersion,
            spec.Shard.Experts.Select(e => new ExpertKey(e.Layer, e.Expert)).ToList(), true, spec.Codec,
            payloadLength ?? (ulong)payload.Length, SHA256.HashData(payload), tokens ?? (ulong)(spec.Training.InnerSteps * spec.Training.BatchSize * spec.Training.SeqLen), meanLoss,
            runId ?? spec.RunId);
        return EnvelopeSigner.Sign(key.Identity, envelope);
    }

    /// <summary>Sends a header and then the given chunks; returns the reply, or throws the coordinator's RpcException.</summary>
    public async Task<SubmitReply> SendAsync(Key key, SignedEnvelope signed, IEnumerable<byte[]> chunks)
    {
        using var call = Client.SubmitUpdate();
        return await UpdateStream.SendAsync(call, chunks.Select(c => new UpdateChunk { Data = ByteString.CopyFrom(c) }).Prepend(Header(key, signed)));
    }

    public static UpdateChunk Header(Key key, SignedEnvelope signed) => new()
    {
        Header = new UpdateHeader
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = key.Session,
            Envelope = ByteString.CopyFrom(signed.Bytes), Signature = ByteString.CopyFrom(signed.Signature),
        },
    };

    /// <summary>A fresh honest key trains one unit end to end over gRPC and is accepted.</summary>
    public async Task HonestUnitAsync()
    {
        var key = await JoinAsync();
        var unit = await LeaseAsync(key);
        var update = await TrainAsync(key, unit);
        var reply = await SendAsync(key, update.Envelope, PayloadChunker.Split(update.Payload, ProtocolLimits.DefaultChunkBytes).Select(c => c.ToArray()));
        Assert.True(reply.Accepted, "an honest update after the attack was not accepted");
    }

    public static RejectReason ReasonOf(RpcException e)
    {
        Assert.True(RejectReasons.TryGetReason(e, out var reason), $"no {RejectReasons.TrailerKey} trailer on {e.Status}");
        Assert.Equal(reason.ToStatusCode(), e.StatusCode);
        return reason;
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        foreach (var k in _keys) k.Dispose();
        await Task.CompletedTask;
    }
}
