using Grpc.Core;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 5: fresh keys are on probation and cannot take a round; who trains is drawn, not raced; zero updates earn nothing.</summary>
public sealed class FreeKeysTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task FreshKeysGetAtMostTheProbationSlotsWhileEstablishedVolunteersAsk()
    {
        var (c, attacker, _) = await Crowd.StartAsync(o => o with { ProbationReputation = 0.25, ProbationSlots = 1, SpareLeases = 1 });
        await using (c)
        await using (attacker)
        {
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            c.Engine.RoundClosed += s => closed.TrySetResult();
            // Round 0: three honest volunteers earn their first reward and leave probation.
            var honest = new List<Attacker.Key>();
            for (int i = 0; i < 3; i++) honest.Add(await attacker.JoinAsync());
            foreach (var key in honest)
            {
                var unit = await attacker.LeaseAsync(key);
                var update = await attacker.TrainAsync(key, unit);
                Assert.True((await attacker.SendAsync(key, update.Envelope, [update.Payload])).Accepted);
            }
            await closed.Task.WaitAsync(Patience);
            Assert.Equal(1, c.Engine.Round);

            // Round 1: four fresh keys ask first, as fast as they like; the established volunteers ask after them.
            var fresh = new List<Attacker.Key>();
            for (int i = 0; i < 4; i++) fresh.Add(await attacker.JoinAsync());
            var freshUnits = new List<Protocol.V1.WorkUnit>();
            for (int poll = 0; poll < 3; poll++)
                foreach (var key in fresh)
                    if ((await attacker.AskAsync(key)) is { ResultCase: WorkReply.ResultOneofCase.WorkUnit } r && freshUnits.All(u => u.WorkUnitId != r.WorkUnit.WorkUnitId))
                        freshUnits.Add(r.WorkUnit);
            Assert.Single(freshUnits);
            var honestUnits = new List<Protocol.V1.WorkUnit>();
            foreach (var key in honest) honestUnits.Add(await attacker.LeaseAsync(key));
            Assert.Equal(3, honestUnits.Select(u => u.WorkUnitId).Distinct().Count());

            // The one fresh unit sends a zero (free-ride) update: refused, and it earns nothing.
            var owner = fresh.Single(k => c.Engine.Store.WorkUnits(1).Any(w => w.Id == freshUnits[0].WorkUnitId && w.VolunteerId == k.Id));
            var spec = VolunteerClient.ToSpec(freshUnits[0]);
            var trained = await attacker.TrainAsync(owner, freshUnits[0]);
            var zero = new ParameterSet(TensorCodec.Decode(trained.Payload, trained.Payload.LongLength).Tensors.Select(t => new NamedTensor(t.Name, t.Shape, new float[t.Values.Length])));
            var sealedZero = WorkUnitRunner.Seal(spec, zero, owner.Identity, 3.0, c.Engine.ExpectedTokens);
            var before = Snapshot.Of(c.Engine);
            var e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(owner, sealedZero.Envelope, [sealedZero.Payload]));
            Assert.Equal(RejectReason.NoProgress, Attacker.ReasonOf(e));
            Assert.Equal(before, Snapshot.Of(c.Engine));
            Assert.True(c.Engine.Store.GetVolunteer(owner.Id)!.Reputation < 0);

            // Honest volunteers keep training.
            var honestUpdate = await attacker.TrainAsync(honest[0], honestUnits[0]);
            Assert.True((await attacker.SendAsync(honest[0], honestUpdate.Envelope, [honestUpdate.Payload])).Accepted);
        }
    }

    [Fact]
    public async Task AskingFirstOrMoreOftenWinsNothingBeforeTheDraw()
    {
        var (c, attacker, time) = await Crowd.StartAsync(o => o with { ParticipantDrawWindow = TimeSpan.FromSeconds(2) });
        await using (c)
        await using (attacker)
        {
            var poller = await attacker.JoinAsync();
            var honest = await attacker.JoinAsync();
            for (int poll = 0; poll < 10; poll++)
            {
                var early = await attacker.AskAsync(poller);
                Assert.Equal(WorkReply.ResultOneofCase.NoWork, early.ResultCase); // no unit before the draw, however fast it asks
                time.Advance(TimeSpan.FromMilliseconds(150));
            }
            Assert.Equal(WorkReply.ResultOneofCase.NoWork, (await attacker.AskAsync(honest)).ResultCase); // asks once, late in the window
            time.Advance(TimeSpan.FromSeconds(1));
            // The draw: both entered, three free units, so both win; the late honest volunteer is not behind the fast poller.
            Assert.Equal(WorkReply.ResultOneofCase.WorkUnit, (await attacker.AskAsync(poller)).ResultCase);
            Assert.Equal(WorkReply.ResultOneofCase.WorkUnit, (await attacker.AskAsync(honest)).ResultCase);
            Assert.Equal(2, c.Engine.Store.WorkUnits(0).Count);
        }
    }
}
