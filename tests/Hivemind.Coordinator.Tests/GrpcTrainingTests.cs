using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Volunteer.Behaviors;
using Xunit.Abstractions;

namespace Hivemind.Coordinator.Tests;

/// <summary>Training over real gRPC on loopback: honest volunteers match the in-process algorithm; robust rules survive attackers.</summary>
public sealed class GrpcTrainingTests(ITestOutputHelper output)
{
    private const int Rounds = 10;

    /// <summary>Upper bound on one loopback training run; it takes about a minute on 2 busy cores.</summary>
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(8);

    [Fact]
    public async Task FourHonestVolunteersLearnAndMatchTheInProcessRun()
    {
        // In-process reference: the same engine, options and seeds, volunteers called directly.
        var reference = new List<double>();
        using (var h = new EngineHarness(o => o with { MaxRounds = Rounds }))
        {
            var volunteers = Enumerable.Range(0, 4).Select(_ => h.Join()).ToList();
            reference.Add(h.Engine.EvaluateCurrent());
            for (int r = 0; r < Rounds; r++)
            {
                foreach (var v in volunteers) v.Work();
                reference.Add(h.Engine.Tick()!.EvalLoss!.Value);
            }
        }

        await using var c = await LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with { MaxRounds = Rounds });
        double initial = c.Engine.EvaluateCurrent();
        var clients = Enumerable.Range(0, 4).Select(i => c.Volunteer(name: $"v{i}")).ToList();
        await c.TrainToTheEndAsync(clients.Select(x => x.Client), RunTimeout);
        var grpc = new List<double> { initial };
        grpc.AddRange(c.Rounds.Select(s => s.EvalLoss!.Value));

        output.WriteLine($"in-process: {string.Join(" ", reference.Select(x => x.ToString("R")))}");
        output.WriteLine($"gRPC:       {string.Join(" ", grpc.Select(x => x.ToString("R")))}");
        Assert.Equal(Rounds + 1, grpc.Count);
        Assert.Equal(4 * Rounds, clients.Sum(x => x.View.Accepted.Count));
        // Measured: held-out loss falls from 5.57 to about 3.0 in 10 rounds; 1.5 nats is a safe margin.
        Assert.True(grpc[^1] < grpc[0] - 1.5, $"loss fell only from {grpc[0]:0.000} to {grpc[^1]:0.000}");
        // Same units, seeds and codec, and the engine aggregates in work-unit order whatever the arrival order:
        // the runs agree to the last bit (before ordering, arrival order alone moved round 9 by 1.7e-3).
        Assert.Equal(reference, grpc);
    }

    [Fact]
    public async Task SignFlipAttackerIsContainedByARobustRuleAndHurtsTheMean()
    {
        const int AttackRounds = 6;
        double robust = await FinalLossAsync(RobustRule, Behavior.SignFlip, AttackRounds);
        double mean = await FinalLossAsync("mean", Behavior.SignFlip, AttackRounds);
        double clean = await FinalLossAsync("mean", Behavior.Honest, AttackRounds);
        output.WriteLine($"sign-flip: robust {robust:0.000}, mean {mean:0.000}, no attack {clean:0.000}");
        // Measured: robust 3.08, mean 3.28, no attack 2.93 (which unit the attacker draws varies with arrival order).
        Assert.True(robust < clean + 0.25, $"the robust rule should stay near the clean run ({clean:0.000}); it ended at {robust:0.000}");
        Assert.True(mean > robust + 0.08, $"mean ({mean:0.000}) should suffer clearly more from a sign flip than the robust rule ({robust:0.000})");
    }

    [Fact]
    public async Task AlieAttackerDoesNotStopTrainingUnderARobustRule()
    {
        const int AttackRounds = 6;
        double robust = await FinalLossAsync(RobustRule, Behavior.Alie, AttackRounds);
        double clean = await FinalLossAsync("mean", Behavior.Honest, AttackRounds);
        output.WriteLine($"alie: robust {robust:0.000}, no attack {clean:0.000}");
        // Measured: robust 2.92, no attack 2.93. One ALIE attacker of five shifts each coordinate by only
        // z = 0.25 honest deviations (Baruch et al.'s z for n = 5, f = 1), so against the mean it measured
        // 2.94: too small a difference to assert. The attack matrix (simulations) measures ALIE at larger f.
        Assert.True(robust < clean + 0.1, $"ALIE under {RobustRule} ended at {robust:0.000}; the clean run at {clean:0.000}");
    }

    private const string RobustRule = "cclip(tau=1,iters=3)";

    private async Task<double> FinalLossAsync(string rule, Behavior attacker, int rounds)
    {
        await using var c = await LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with
        {
            MaxRounds = rounds,
            Quorum = 5,
            TrunkRule = rule,
            ExpertRule = rule,
        });
        var clients = Enumerable.Range(0, 4).Select(i => c.Volunteer(name: $"h{i}").Client).ToList();
        clients.Add(c.Volunteer(attacker, name: "red").Client);
        await c.TrainToTheEndAsync(clients, RunTimeout);
        return c.Rounds[^1].EvalLoss!.Value;
    }
}
