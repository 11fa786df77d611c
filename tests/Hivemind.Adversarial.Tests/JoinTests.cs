using Google.Protobuf;
using Grpc.Core;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.V1;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 6: nobody without a key's signature can lock honest volunteers out of joining.</summary>
public sealed class JoinTests
{
    [Fact]
    public async Task JunkJoinsFromTheSameAddressCostHonestJoinsNothing()
    {
        var (c, attacker, _) = await Crowd.StartAsync(o => o with { JoinsPerMinute = 3 });
        await using (c)
        await using (attacker)
        {
            var junk = attacker.NewIdentity();
            for (int i = 0; i < 30; i++)
            {
                var challenge = await attacker.Client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(junk.PublicKey) });
                var e = await Assert.ThrowsAsync<RpcException>(async () => await attacker.Client.JoinAsync(new JoinRequest
                {
                    ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(junk.PublicKey), Nonce = challenge.Nonce, RunId = challenge.RunId,
                    Signature = ByteString.CopyFrom(new byte[VolunteerIdentity.SignatureBytes]), DeclaredMemoryBytes = 2L << 30, Device = "cpu",
                }));
                Assert.Equal(RejectReason.BadSignature, Attacker.ReasonOf(e));
            }
            var keys = new List<Attacker.Key>();
            for (int i = 0; i < 3; i++) keys.Add(await attacker.JoinAsync()); // the whole per-minute allowance is still there
            Assert.Equal(3, c.Engine.Store.Volunteers().Count);
            var limited = await Assert.ThrowsAsync<RpcException>(() => attacker.JoinAsync());
            Assert.Equal(RejectReason.RateLimited, Attacker.ReasonOf(limited)); // verified joins are limited, per source
            var unit = await attacker.LeaseAsync(keys[0]);
            var update = await attacker.TrainAsync(keys[0], unit);
            Assert.True((await attacker.SendAsync(keys[0], update.Envelope, [update.Payload])).Accepted);
        }
    }

    [Fact]
    public async Task AChallengeFloodCannotEvictAnHonestNonce()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var honest = attacker.NewIdentity();
            var challenge = await attacker.Client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(honest.PublicKey) });
            var flooder = attacker.NewIdentity();
            for (int i = 0; i < 10_001; i++) c.Engine.IssueChallenge(flooder.PublicKey); // the old book held 10,000
            for (int i = 0; i < 200; i++)
                await attacker.Client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(flooder.PublicKey) });
            var signature = JoinChallenge.Sign(honest, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, 2L << 30, "cpu", "");
            var join = await attacker.Client.JoinAsync(new JoinRequest
            {
                ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(honest.PublicKey), Nonce = challenge.Nonce, RunId = challenge.RunId,
                Signature = ByteString.CopyFrom(signature), DeclaredMemoryBytes = 2L << 30, Device = "cpu",
            });
            Assert.Equal(VolunteerIds.FromPublicKey(honest.PublicKey), join.VolunteerId);
            await attacker.HonestUnitAsync();
        }
    }
}
