using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Tensors;
using Hivemind.Volunteer.Work;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 4: nobody can get an honest key banned, by replaying its update or by colluding around it.</summary>
public sealed class HonestKeysTests
{
    [Fact]
    public async Task ResendingAnAcceptedUpdateGetsTheSameReplyAndCostsNothing()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var (key, update, first) = await AcceptedUpdateAsync(attacker);
            var after = Snapshot.Of(c.Engine);
            // A lost acknowledgement, or anyone holding the bytes and the session token, replaying them.
            for (int resend = 0; resend < 5; resend++)
            {
                var again = await attacker.SendAsync(key, update.Envelope, [update.Payload]);
                Assert.True(again.Accepted);
                Assert.Equal(first.UpdateId, again.UpdateId);
            }
            Assert.Equal(after, Snapshot.Of(c.Engine));
            var record = c.Engine.Store.GetVolunteer(key.Id)!;
            Assert.False(record.Banned);
            Assert.Equal(0, record.Reputation);
            Assert.Equal(0, c.Engine.Store.EvidenceCount(key.Id));
            Assert.Empty(c.Engine.Store.Rejections());
            await attacker.HonestUnitAsync();
        }
    }

    /// <summary>
    /// A resent update is answered only after its bytes are read to the end: a reply while the client still sends resets the HTTP/2
    /// stream, and many resets on one connection made Kestrel answer ENHANCE_YOUR_CALM (or an empty stream, truncated-stream) to the
    /// volunteer's later calls.
    /// </summary>
    [Fact]
    public async Task ManyResendsOnOneConnectionAreAllAnsweredAndLeaveItUsable()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var (key, update, first) = await AcceptedUpdateAsync(attacker);
            const int Senders = 8, Resends = 120; // bounded: 960 calls on one connection
            var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
            await Task.WhenAll(Enumerable.Range(0, Senders).Select(_ => Task.Run(async () =>
            {
                for (int i = 0; i < Resends; i++)
                {
                    try
                    {
                        var again = await attacker.SendAsync(key, update.Envelope, [update.Payload]);
                        if (!again.Accepted || again.UpdateId != first.UpdateId) failures.Enqueue($"reply {again}");
                    }
                    catch (Exception e) when (e is Grpc.Core.RpcException or HttpRequestException or IOException)
                    {
                        failures.Enqueue(e.Message);
                    }
                }
            })));
            Assert.True(failures.IsEmpty, $"{failures.Count} of {Senders * Resends} resends failed, e.g. {failures.FirstOrDefault()}");
            Assert.Empty(c.Engine.Store.Rejections());
        }
    }

    /// <summary>A fresh key's honestly trained update, sent once and accepted.</summary>
    private static async Task<(Attacker.Key Key, TrainedUpdate Update, Protocol.V1.SubmitReply First)> AcceptedUpdateAsync(Attacker attacker)
    {
        var key = await attacker.JoinAsync();
        var unit = await attacker.LeaseAsync(key);
        var update = await attacker.TrainAsync(key, unit);
        var first = await attacker.SendAsync(key, update.Envelope, [update.Payload]);
        Assert.True(first.Accepted);
        return (key, update, first);
    }

    [Fact]
    public void TwoColludersSendingOneVectorCannotGetTheHonestKeyBanned()
    {
        using var h = new EngineHarness(o => o with { Quorum = 3, MinExpertHolders = 1, TrunkRule = "median", ExpertRule = "median", BanThreshold = -2.5 });
        var honest = h.Join();
        var colluders = new[] { h.Join(), h.Join() };
        const int Rounds = 4; // the old outlier penalty banned the honest key after 3
        for (int round = 0; round < Rounds; round++)
        {
            honest.Work();
            var units = colluders.Select(c => c.Lease()).ToList();
            // Both sign the same (sign-flipped) vector: the median distance is zero without a floor on its scale.
            var flipped = new ParameterSet(Decode(colluders[0].Train(units[0])).Select(t => new NamedTensor(t.Name, t.Shape, t.Values.Select(x => -x).ToArray())));
            for (int i = 0; i < colluders.Length; i++)
                colluders[i].Submit(WorkUnitRunner.Seal(EngineHarness.ToSpec(units[i]), flipped, colluders[i].Identity, 3.0, h.Engine.ExpectedTokens));
            Assert.NotNull(h.Engine.Tick());
        }
        var record = h.Engine.Store.GetVolunteer(honest.Id)!;
        Assert.False(record.Banned);
        Assert.True(record.Reputation >= 0, $"distance from the aggregate cost the honest key reputation: {record.Reputation}");
        Assert.Equal(0, h.Engine.Store.EvidenceCount(honest.Id));
    }

    private static ParameterSet Decode(TrainedUpdate u) => TensorCodec.Decode(u.Payload, u.Payload.LongLength).Tensors;
}
