using System.Threading.Channels;
using Grpc.Core;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;

namespace Hivemind.Adversarial.Tests;

/// <summary>
/// Issue 15: the running norm bound cannot be turned by a minority of keys, neither down (IPM-like tiny updates round after round, until
/// honest updates are refused and no round closes) nor up (creeping norms, until a huge update passes). The attackers here are 3 of 7
/// keys, a minority of the keys and of every round's inputs, but they declare enough memory to hold every expert while the honest
/// keys hold top-k: under the old rule (the median of the last 64 accepted norms, one entry per expert group) they filled most of the
/// expert history. Norms are set directly (a crafted delta per tensor group); the bound only reads norms.
/// </summary>
public sealed class NormBoundTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private const int Honest = 4;
    private const int Attackers = 3;

    /// <summary>Every honest tensor group's L2 norm: one scale for all, so the honest keys are well within the bound's factor of each other.</summary>
    private const double HonestNorm = 1.0;

    [Fact]
    public async Task AMinorityOfTinyNormKeysCannotGetHonestUpdatesRefused()
    {
        const double Tiny = 0.01; // like IPM's −ε × the honest mean: far below the honest norms
        const int Rounds = 4;
        await using var crowd = await NormCrowd.StartAsync();
        for (int round = 0; round < Rounds; round++)
        {
            // Round 0: the honest keys speak first (the first keys heard set the first bound, for any rule); then the attackers first.
            var order = round == 0 ? crowd.Honest.Concat(crowd.Attackers) : crowd.Attackers.Concat(crowd.Honest);
            foreach (var key in order)
            {
                bool attacker = crowd.Attackers.Contains(key);
                var unit = await crowd.Attacker.LeaseAsync(key);
                var update = await crowd.CraftAsync(key, unit, _ => attacker ? Tiny : HonestNorm);
                try
                {
                    Assert.True((await crowd.Attacker.SendAsync(key, update.Envelope, [update.Payload])).Accepted);
                }
                catch (RpcException e) when (!attacker)
                {
                    Assert.Fail($"round {round}: an honest update (every group's norm {HonestNorm}) was refused ({Attacker.ReasonOf(e).Token()}: {e.Status.Detail})");
                }
            }
            await crowd.RoundClosedAsync(round);
        }
    }

    [Fact]
    public async Task AMinorityOfCreepingKeysCannotRaiseTheBoundUntilAHugeUpdatePasses()
    {
        const double Creep = 3.5; // each round the attackers try 3.5 × their last accepted expert norm (below the factor 4)
        const double Huge = 50;   // 50 × the honest norm: 12.5 × an honest bound of 4 × 1.0, far below the absolute bound (1e3)
        const int Rounds = 6;
        await using var crowd = await NormCrowd.StartAsync();
        double accepted = HonestNorm;
        for (int round = 0; round < Rounds; round++)
        {
            var order = round == 0 ? crowd.Honest.Concat(crowd.Attackers) : crowd.Attackers.Concat(crowd.Honest);
            double tried = round == 0 ? HonestNorm : accepted * Creep;
            bool anyAccepted = false;
            foreach (var key in order)
            {
                if (!crowd.Attackers.Contains(key))
                {
                    var honest = await crowd.CraftAsync(key, await crowd.Attacker.LeaseAsync(key), _ => HonestNorm);
                    Assert.True((await crowd.Attacker.SendAsync(key, honest.Envelope, [honest.Payload])).Accepted);
                    continue;
                }
                // The trunk stays at the honest scale (its history is not theirs to fill); their expert groups creep.
                if (await crowd.TrySendAsync(key, g => g == TensorGroups.Trunk ? HonestNorm : tried))
                {
                    anyAccepted = true;
                    continue;
                }
                // Refused: the same key sends its last accepted scale (on a new unit, or on the same live lease), so the round closes.
                Assert.True(await crowd.TrySendAsync(key, g => g == TensorGroups.Trunk ? HonestNorm : accepted), $"round {round}: the fallback at {accepted} was refused");
            }
            if (anyAccepted) accepted = tried;
            await crowd.RoundClosedAsync(round);
        }
        // The probe: one attacker key sends expert groups at 50 × the honest norm.
        var probe = crowd.Attackers[0];
        var unit = await crowd.Attacker.LeaseAsync(probe);
        var update = await crowd.CraftAsync(probe, unit, g => g == TensorGroups.Trunk ? HonestNorm : Huge);
        var e = await Assert.ThrowsAsync<RpcException>(() => crowd.Attacker.SendAsync(probe, update.Envelope, [update.Payload]));
        Assert.Equal(RejectReason.NormTooLarge, Attacker.ReasonOf(e));
        Assert.True(accepted < 4 * HonestNorm, $"the attackers' expert norm crept to {accepted}, above 4 × the honest norm");
    }

    [Fact]
    public async Task FreshKeysOnProbationCannotOutvoteTheEstablishedKeys()
    {
        // 3 honest keys leave probation after one useful update; then every round one new key (a Sybil swarm, one per round: the
        // probation share) takes the probation slot and sends a tiny update, which earns nothing, so those keys stay on probation.
        // By round 4 they outnumber the honest keys in the history; counted as equals they would set the bound.
        const int Rounds = 6;
        const double Tiny = 0.01;
        await using var crowd = await NormCrowd.StartAsync(3, o => o with { Quorum = 4, SpareLeases = 0, ProbationReputation = 0.25, ProbationSlots = 1 });
        for (int round = 0; round < Rounds; round++)
        {
            var fresh = await crowd.Attacker.JoinAsync();
            crowd.Attackers.Add(fresh);
            // Round 0: the honest keys first (the first keys heard set the first bound); then the fresh key first.
            var order = round == 0 ? crowd.Honest.Append(fresh) : crowd.Honest.Prepend(fresh);
            foreach (var key in order)
            {
                bool sybil = key == fresh;
                var update = await crowd.CraftAsync(key, await crowd.Attacker.LeaseAsync(key), _ => sybil ? Tiny : HonestNorm);
                try
                {
                    Assert.True((await crowd.Attacker.SendAsync(key, update.Envelope, [update.Payload])).Accepted);
                }
                catch (RpcException e) when (!sybil)
                {
                    Assert.Fail($"round {round}: an honest update was refused ({Attacker.ReasonOf(e).Token()}: {e.Status.Detail})");
                }
            }
            await crowd.RoundClosedAsync(round);
        }
        Assert.All(crowd.Attackers, k => Assert.True(crowd.Coordinator.Engine.Store.GetVolunteer(k.Id)!.Reputation < 0.25, "a tiny-update key left probation"));
    }

    [Fact]
    public void TheBoundIsRebuiltAfterARestartFromTheRoundsAcceptedUpdates()
    {
        // The history is not stored; a restart rebuilds it from the open round's accepted updates (as the old rule's was), so a huge
        // update right after a restart is still refused by the running bound, not only by the absolute one.
        using var h = new Coordinator.Tests.Infrastructure.EngineHarness(o => o with { Quorum = 5 });
        var keys = Enumerable.Range(0, 5).Select(_ => h.Join()).ToList();
        foreach (var key in keys.Take(NormHistory.MinKeys + 1)) key.Work();
        h.Restart();
        var probe = keys[^1];
        var unit = probe.Lease();
        byte[] payload = probe.Train(unit).Payload;
        var trained = TensorCodec.Decode(payload, payload.LongLength).Tensors;
        const float Boost = 50; // far above 4 × an honest norm, far below the absolute bound
        var boosted = new ParameterSet(trained.Select(t => new NamedTensor(t.Name, t.Shape, t.Values.Select(x => x * Boost).ToArray())));
        var e = Assert.Throws<ProtocolException>(() => probe.Submit(WorkUnitRunner.Seal(Coordinator.Tests.Infrastructure.EngineHarness.ToSpec(unit), boosted, probe.Identity, 3.0, h.Engine.ExpectedTokens)));
        Assert.Equal(RejectReason.NormTooLarge, e.Reason);
        Assert.Contains("--norm-bound-factor", e.Message);
    }

    /// <summary>A loopback coordinator (quorum = every key, no spare) with 4 honest keys holding top-k experts and 3 attackers holding all.</summary>
    private sealed class NormCrowd : IAsyncDisposable
    {
        private readonly Channel<long> _closed = Channel.CreateUnbounded<long>();

        private NormCrowd(Coordinator.Tests.Infrastructure.LoopbackCoordinator coordinator, Attacker attacker)
        {
            Coordinator = coordinator;
            Attacker = attacker;
            coordinator.Engine.RoundClosed += s => _closed.Writer.TryWrite(s.NewVersion);
        }

        public Coordinator.Tests.Infrastructure.LoopbackCoordinator Coordinator { get; }

        public Attacker Attacker { get; }

        public List<Attacker.Key> Honest { get; } = [];

        public List<Attacker.Key> Attackers { get; } = [];

        public static async Task<NormCrowd> StartAsync()
        {
            var (c, attacker, _) = await Crowd.StartAsync(o => o with { Quorum = NormBoundTests.Honest + NormBoundTests.Attackers, SpareLeases = 0 });
            var crowd = new NormCrowd(c, attacker);
            var model = ModelConfig.Preset(c.Engine.Options.Preset);
            var planner = new Coordinator.Planning.ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert);
            for (int i = 0; i < NormBoundTests.Honest; i++) crowd.Honest.Add(await crowd.JoinAsync(planner.MemoryNeeded(model.TopK), model.TopK * model.Layers));
            for (int i = 0; i < NormBoundTests.Attackers; i++) crowd.Attackers.Add(await crowd.JoinAsync(planner.MemoryNeeded(model.Experts), model.Experts * model.Layers));
            return crowd;
        }

        /// <summary>A crowd of <paramref name="honest"/> keys with the default memory and the given engine options.</summary>
        public static async Task<NormCrowd> StartAsync(int honest, Func<CoordinatorOptions, CoordinatorOptions> configure)
        {
            var (c, attacker, _) = await Crowd.StartAsync(configure);
            var crowd = new NormCrowd(c, attacker);
            for (int i = 0; i < honest; i++) crowd.Honest.Add(await attacker.JoinAsync());
            return crowd;
        }

        private readonly Dictionary<string, int> _expertsHeld = new(StringComparer.Ordinal);

        private async Task<Attacker.Key> JoinAsync(long memory, int expertsHeld)
        {
            var key = await Attacker.JoinAsync(memory: memory);
            _expertsHeld[key.Id] = expertsHeld;
            return key;
        }

        /// <summary>A delta for <paramref name="unit"/>'s shard (shapes from its download) whose every tensor group has the L2 norm <paramref name="normOf"/> gives.</summary>
        public async Task<TrainedUpdate> CraftAsync(Attacker.Key key, Protocol.V1.WorkUnit unit, Func<string, double> normOf)
        {
            using var call = Attacker.Client.DownloadParameters(new DownloadRequest
            {
                ProtocolVersion = ProtocolVersion.Current, SessionToken = key.Session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId,
            });
            var (_, bytes) = await DownloadStream.ReadAsync(call.ResponseStream, ProtocolLimits.Default, CancellationToken.None);
            var parameters = TensorCodec.Decode(bytes, bytes.LongLength).Tensors;
            // The premise, where the crowd set it: attackers hold every expert, honest keys top-k (so the attackers own most expert groups).
            if (_expertsHeld.TryGetValue(key.Id, out int held)) Assert.Equal(held, VolunteerClient.ToSpec(unit).Shard.Experts.Count);
            var sizes = parameters.GroupBy(t => TensorGroups.KeyOf(t.Name)).ToDictionary(g => g.Key, g => g.Sum(t => (long)t.Values.Length));
            var delta = new ParameterSet(parameters.Select(t =>
            {
                string group = TensorGroups.KeyOf(t.Name);
                float value = (float)(normOf(group) / Math.Sqrt(sizes[group]));
                return new NamedTensor(t.Name, t.Shape, Enumerable.Range(0, t.Values.Length).Select(i => i % 2 == 0 ? value : -value).ToArray());
            }));
            return WorkUnitRunner.Seal(VolunteerClient.ToSpec(unit), delta, key.Identity, 3.0, Coordinator.Engine.ExpectedTokens);
        }

        /// <summary>Leases (a new unit, or the live one it holds), sends a crafted update; false when refused as norm-too-large.</summary>
        public async Task<bool> TrySendAsync(Attacker.Key key, Func<string, double> normOf)
        {
            var update = await CraftAsync(key, await Attacker.LeaseAsync(key), normOf);
            try
            {
                return (await Attacker.SendAsync(key, update.Envelope, [update.Payload])).Accepted;
            }
            catch (RpcException e) when (Attacker.ReasonOf(e) == RejectReason.NormTooLarge)
            {
                return false;
            }
        }

        public async Task RoundClosedAsync(int round)
        {
            long version = await _closed.Reader.ReadAsync().AsTask().WaitAsync(Patience);
            Assert.Equal(round + 1, version);
        }

        public async ValueTask DisposeAsync()
        {
            await Attacker.DisposeAsync();
            await Coordinator.DisposeAsync();
        }
    }
}
