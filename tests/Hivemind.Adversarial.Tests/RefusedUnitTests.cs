using Grpc.Core;
using Grpc.Core.Interceptors;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;

namespace Hivemind.Adversarial.Tests;

/// <summary>
/// Issue 15 (and issue 9's retrain loop): a unit whose update was refused for its content is not trained again. Its shard, version
/// and data slice are fixed, so a retrain gives the same bytes and the same refusal; the engine used to hand the live lease back and the
/// volunteer retrained it until the lease ended.
/// </summary>
public sealed class RefusedUnitTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task AContentRefusalEndsTheLeaseAndKeepsTheEquivocationRules()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var trained = await attacker.TrainAsync(key, unit);
            var zero = WorkUnitRunner.Seal(VolunteerClient.ToSpec(unit), Zero(trained), key.Identity, 3.0, c.Engine.ExpectedTokens);
            var refused = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(key, zero.Envelope, [zero.Payload]));
            Assert.Equal(RejectReason.NoProgress, Attacker.ReasonOf(refused));
            double reputation = c.Engine.Store.GetVolunteer(key.Id)!.Reputation;

            // The next request does not hand the refused unit back.
            var next = await attacker.AskAsync(key);
            Assert.True(next.ResultCase != WorkReply.ResultOneofCase.WorkUnit || next.WorkUnit.WorkUnitId != unit.WorkUnitId,
                $"the refused unit {unit.WorkUnitId} was handed back to its holder");

            // An identical resend, and a different (honest) update for the refused unit: neither is accepted, neither is equivocation
            // evidence (nothing was accepted for the unit), and neither costs more reputation.
            foreach (var resend in new[] { zero, trained })
            {
                var e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(key, resend.Envelope, [resend.Payload]));
                Assert.Equal(RejectReason.ExpiredLease, Attacker.ReasonOf(e));
            }
            Assert.Equal(reputation, c.Engine.Store.GetVolunteer(key.Id)!.Reputation);
            Assert.Equal(0, c.Engine.Store.EvidenceCount(key.Id));

            // An accepted unit keeps its rules: an identical resend is idempotent, different content for it is equivocation.
            var other = await attacker.JoinAsync();
            var otherUnit = await attacker.LeaseAsync(other);
            var honest = await attacker.TrainAsync(other, otherUnit);
            var first = await attacker.SendAsync(other, honest.Envelope, [honest.Payload]);
            Assert.True(first.Accepted);
            Assert.Equal(first.UpdateId, (await attacker.SendAsync(other, honest.Envelope, [honest.Payload])).UpdateId);
            var flipped = WorkUnitRunner.Seal(VolunteerClient.ToSpec(otherUnit),
                new ParameterSet(Decode(honest).Select(t => new NamedTensor(t.Name, t.Shape, t.Values.Select(x => -x).ToArray()))), other.Identity, 3.0, c.Engine.ExpectedTokens);
            var equivocation = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(other, flipped.Envelope, [flipped.Payload]));
            Assert.Equal(RejectReason.Equivocation, Attacker.ReasonOf(equivocation));
            Assert.Equal(1, c.Engine.Store.EvidenceCount(other.Id));
        }
    }

    [Fact]
    public async Task TheVolunteerClientNeverRetrainsARefusedUnit()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            // A free-riding client (zero updates, refused as no-progress) for three units; the real engine ends each refused lease.
            var (client, view) = c.Volunteer(Behavior.FreeRide, maxUnits: 3);
            Assert.Equal(0, await client.RunAsync(CancellationToken.None).WaitAsync(Patience));
            Assert.Equal(3, view.Rejections.Count(r => r == RejectReason.NoProgress));
            Assert.Equal(3, view.Units.Distinct().Count());
            Assert.Equal(3, view.Units.Count);
        }
    }

    [Fact]
    public async Task TheVolunteerClientDoesNotRetrainAUnitACoordinatorHandsBackAfterRefusingIt()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            // A coordinator that keeps a refused unit's lease (as this one did before issue 15): the first unit is handed back once.
            var handBack = new HandBackFirstUnit();
            var (client, view) = c.Volunteer(Behavior.FreeRide, maxUnits: 2, interceptor: handBack);
            Assert.Equal(0, await client.RunAsync(CancellationToken.None).WaitAsync(Patience));
            Assert.True(handBack.HandedBack, "the interceptor never handed the refused unit back");
            Assert.Equal(2, view.Units.Count);
            Assert.Equal(2, view.Units.Distinct().Count());
            Assert.Equal([RejectReason.NoProgress, RejectReason.NoProgress], view.Rejections);
            lock (view.Waits) Assert.Contains(view.Waits, w => w.Contains("not retraining", StringComparison.Ordinal));
        }
    }

    private static ParameterSet Decode(TrainedUpdate u) => TensorCodec.Decode(u.Payload, u.Payload.LongLength).Tensors;

    private static ParameterSet Zero(TrainedUpdate u) => new(Decode(u).Select(t => new NamedTensor(t.Name, t.Shape, new float[t.Values.Length])));

    /// <summary>Answers the first RequestWork after the first unit with that unit again (once), as a coordinator that keeps refused leases would.</summary>
    private sealed class HandBackFirstUnit : Interceptor
    {
        private WorkReply? _first;
        private int _state; // 0: no unit yet, 1: first unit seen, 2: handed back

        public bool HandedBack => Volatile.Read(ref _state) == 2;

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (context.Method.Name != "RequestWork") return continuation(request, context);
            if (Interlocked.CompareExchange(ref _state, 2, 1) == 1)
                return new AsyncUnaryCall<TResponse>(Task.FromResult((TResponse)(object)_first!), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => new Metadata(), () => { });
            var call = continuation(request, context);
            return new AsyncUnaryCall<TResponse>(Remember(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }

        private async Task<TResponse> Remember<TResponse>(Task<TResponse> response)
        {
            var reply = await response;
            if (reply is WorkReply { ResultCase: WorkReply.ResultOneofCase.WorkUnit } unit && Volatile.Read(ref _state) == 0)
            {
                _first = unit;
                Volatile.Write(ref _state, 1);
            }
            return reply;
        }
    }
}
