using Google.Protobuf;
using Grpc.Core;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;

namespace Hivemind.Adversarial.Tests;

/// <summary>
/// Issue 9, class 9 (the run id): joins and updates are signed for one coordinator run, so replaying them at another coordinator
/// (same model, same seed, same key) is refused with `wrong-run` and changes nothing there.
/// </summary>
public sealed class RunIdTests
{
    [Fact]
    public async Task AnUpdateSignedForCoordinatorAIsRefusedByCoordinatorB()
    {
        var (a, atA, _) = await Crowd.StartAsync();
        var (b, atB, _) = await Crowd.StartAsync();
        await using (a)
        await using (atA)
        await using (b)
        await using (atB)
        {
            Assert.NotEqual(a.Engine.RunId, b.Engine.RunId);
            var identity = atA.NewIdentity();
            var keyAtA = await atA.JoinAsync(identity: identity);
            var keyAtB = await atB.JoinAsync(identity: identity);
            var unitAtA = await atA.LeaseAsync(keyAtA);
            var unitAtB = await atB.LeaseAsync(keyAtB);
            Assert.Equal(a.Engine.RunId, unitAtA.RunId.ToByteArray());
            var update = await atA.TrainAsync(keyAtA, unitAtA);

            var before = Snapshot.Of(b.Engine);
            // Replayed as signed for A, and re-signed by the same key for B's live unit but with A's run id: both refused from the
            // header alone (verify-before-read), so the attempts send no payload: a client still writing chunks after the refusal
            // raced the reply's status once under load (TruncatedStream instead of WrongRun) and proves nothing more.
            var replay = await Assert.ThrowsAsync<RpcException>(() => atB.SendAsync(keyAtB, update.Envelope, []));
            Assert.Equal(RejectReason.WrongRun, Attacker.ReasonOf(replay));
            var forB = Attacker.Sign(keyAtB, unitAtB, update.Payload, runId: a.Engine.RunId);
            var resigned = await Assert.ThrowsAsync<RpcException>(() => atB.SendAsync(keyAtB, forB, []));
            Assert.Equal(RejectReason.WrongRun, Attacker.ReasonOf(resigned));
            Assert.Equal(before, Snapshot.Of(b.Engine));
            Assert.Equal(2, b.Engine.Store.Rejections()[RejectReason.WrongRun.Token()]);
            Assert.Equal(0, b.Engine.Store.GetVolunteer(keyAtB.Id)!.Reputation); // a confused volunteer is not penalised

            // At A the same update is fine, and B keeps training honest volunteers.
            Assert.True((await atA.SendAsync(keyAtA, update.Envelope, Chunks(update.Payload))).Accepted);
            await atB.HonestUnitAsync();
        }
    }

    [Fact]
    public async Task AJoinSignedForCoordinatorAIsRefusedByCoordinatorB()
    {
        var (a, atA, _) = await Crowd.StartAsync();
        var (b, atB, _) = await Crowd.StartAsync();
        await using (a)
        await using (atA)
        await using (b)
        await using (atB)
        {
            var identity = atA.NewIdentity();
            var challengeA = await atA.Client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey) });
            Assert.Equal(a.Engine.RunId, challengeA.RunId.ToByteArray());
            var joinForA = SignedJoin(identity, challengeA.RunId, challengeA.Nonce);

            // The join for A, replayed at B as it is: refused by its run id before anything else.
            var replay = await Assert.ThrowsAsync<RpcException>(async () => await atB.Client.JoinAsync(joinForA));
            Assert.Equal(RejectReason.WrongRun, Attacker.ReasonOf(replay));

            // Signed over A's run id with a fresh nonce of B, and the request claiming B's run id: the signature covers the run id, so it fails.
            var challengeB = await atB.Client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey) });
            var lying = SignedJoin(identity, challengeA.RunId, challengeB.Nonce);
            lying.RunId = challengeB.RunId;
            var forged = await Assert.ThrowsAsync<RpcException>(async () => await atB.Client.JoinAsync(lying));
            Assert.Equal(RejectReason.BadSignature, Attacker.ReasonOf(forged));

            Assert.Empty(b.Engine.Store.Volunteers());
            // The same key joins B the honest way, and A the join it signed for A.
            await atB.JoinAsync(identity: identity);
            Assert.NotNull(await atA.Client.JoinAsync(joinForA));
        }
    }

    private static JoinRequest SignedJoin(VolunteerIdentity identity, ByteString runId, ByteString nonce) => new()
    {
        ProtocolVersion = ProtocolVersion.Current,
        PublicKey = ByteString.CopyFrom(identity.PublicKey),
        Nonce = nonce,
        RunId = runId,
        Signature = ByteString.CopyFrom(JoinChallenge.Sign(identity, ProtocolVersion.Current, runId.Span, nonce.Span, EngineHarness.VolunteerMemory, "cpu", "")),
        DeclaredMemoryBytes = EngineHarness.VolunteerMemory,
        Device = "cpu",
    };

    private static IEnumerable<byte[]> Chunks(byte[] payload) => PayloadChunker.Split(payload, ProtocolLimits.DefaultChunkBytes).Select(c => c.ToArray());
}
