using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests;

/// <summary>Rejections that only the transport can produce: wrong protocol version, oversized chunk, truncated stream.</summary>
public sealed class GrpcRejectionTests : IAsyncLifetime
{
    private LoopbackCoordinator _c = null!;
    private GrpcChannel _channel = null!;
    private Protocol.V1.Coordinator.CoordinatorClient _client = null!;
    private readonly VolunteerIdentity _identity = VolunteerIdentity.Create();

    public async Task InitializeAsync()
    {
        _c = await LoopbackCoordinator.StartAsync(EngineHarness.TinyOptions, new FakeTimeProvider(DateTimeOffset.UtcNow));
        _channel = GrpcChannel.ForAddress(_c.Address);
        _client = new Protocol.V1.Coordinator.CoordinatorClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        _identity.Dispose();
        await _c.DisposeAsync();
    }

    [Fact]
    public async Task WrongProtocolVersionIsToldWhatToDo()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await _client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = 99, PublicKey = ByteString.CopyFrom(_identity.PublicKey) }));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.True(RejectReasons.TryGetReason(e, out var reason));
        Assert.Equal(RejectReason.ProtocolMismatch, reason);
        Assert.Contains("99", e.Status.Detail);
        Assert.Contains("upgrade", e.Status.Detail);
        var status = await _client.GetStatusAsync(new StatusRequest { ProtocolVersion = 99 }); // always answers, so old clients learn the version
        Assert.Equal(ProtocolVersion.Current, status.ProtocolVersion);
    }

    [Fact]
    public async Task OversizedChunkIsRejectedAndRecordsNothing()
    {
        var (session, update) = await LeaseAndTrainAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() => SendAsync(session, update, [new byte[ProtocolLimits.Default.MaxChunkBytes + 1]]));
        AssertReason(e, RejectReason.Oversized);
    }

    [Fact]
    public async Task TruncatedStreamIsRejectedAndRecordsNothing()
    {
        var (session, update) = await LeaseAndTrainAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() => SendAsync(session, update, [update.Payload[..(update.Payload.Length / 2)]]));
        AssertReason(e, RejectReason.TruncatedStream);
    }

    [Fact]
    public async Task CompleteStreamIsAccepted()
    {
        var (session, update) = await LeaseAndTrainAsync();
        var reply = await SendAsync(session, update, [update.Payload]);
        Assert.True(reply.Accepted);
        Assert.Equal(1, _c.Engine.Store.LedgerCount());
    }

    private void AssertReason(RpcException e, RejectReason expected)
    {
        Assert.True(RejectReasons.TryGetReason(e, out var reason), $"no {RejectReasons.TrailerKey} trailer on {e.Status}");
        Assert.Equal(expected, reason);
        Assert.Equal(expected.ToStatusCode(), e.StatusCode);
        Assert.Equal(0, _c.Engine.Store.LedgerCount());
        Assert.Equal(1, _c.Engine.Store.Rejections()[expected.Token()]);
    }

    private async Task<(string Session, TrainedUpdate Update)> LeaseAndTrainAsync()
    {
        var challenge = await _client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(_identity.PublicKey) });
        var signature = JoinChallenge.Sign(_identity, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, EngineHarness.VolunteerMemory, "cpu", "");
        var join = await _client.JoinAsync(new JoinRequest
        {
            ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(_identity.PublicKey), Nonce = challenge.Nonce, RunId = challenge.RunId,
            Signature = ByteString.CopyFrom(signature), DeclaredMemoryBytes = EngineHarness.VolunteerMemory, Device = "cpu",
        });
        var work = await _client.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = join.SessionToken });
        var unit = VolunteerClient.ToSpec(work.WorkUnit);
        var parameters = _c.Engine.ShardParameters(join.SessionToken, unit.Version, unit.Id);
        return (join.SessionToken, WorkUnitRunner.Run(unit, parameters, _identity));
    }

    private Task<SubmitReply> SendAsync(string session, TrainedUpdate update, IEnumerable<byte[]> chunks) =>
        GrpcSubmit.SendAsync(_client, session, update, chunks);
}
