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
        Assert.Equal(4 * Rounds, c.Engine.Store.LedgerCount());
        // Measured: held-out loss falls from 5.57 to about 3.0 in 10 rounds; 1.5 nats is a safe margin.
        Assert.True(grpc[^1] < grpc[0] - 1.5, $"loss fell only from {grpc[0]:0.000} to {grpc[^1]:0.000}");
        // Same units, seeds and codec, and the engine aggregates in work-unit order whatever the arrival order:
        // the runs agree to the last bit (before ordering, arrival order alone moved round 9 by 1.7e-3).
        Assert.Equal(reference, grpc);
    }

    [Fact]
    public async Task RedTeamVolunteerOverLoopbackDoesNotStopARobustRun()
    {
        // Over gRPC the attacker's unit index (hence which data slice it negates) depends on arrival order, so the
        // final loss varies from run to run; the deterministic comparison with mean is ByzantineTests, which fixes
        // the order in process. Measured here: cclip(tau=1) ended between 3.05 and 4.01 (momentum amplifies a bad
        // round), the coordinate-wise median, which outvotes one flipped update of five, between 2.94 and 3.58.
        const string Rule = "median";
        double robust = await FinalLossAsync(Rule, Behavior.SignFlip, 6);
        Assert.True(robust < 4.0, $"training under {Rule} with one sign-flip volunteer should fall well below the start (5.56); it ended at {robust:0.000}");
    }

    internal const string RobustRule = "cclip(tau=1,iters=3)";

    private async Task<double> FinalLossAsync(string rule, Behavior attacker, int rounds)
    {
        await using var c = await LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with
        {
            MaxRounds = rounds,
            Quorum = 5,
            TrunkRule = rule,
            ExpertRule = rule,
        });
        var log = new List<string>();
        c.Engine.Log += m => { lock (log) log.Add(m); };
        var clients = Enumerable.Range(0, 4).Select(i => c.Volunteer(name: $"h{i}").Client).ToList();
        clients.Add(c.Volunteer(attacker, name: "red").Client);
        await c.TrainToTheEndAsync(clients, RunTimeout);
        output.WriteLine($"{rule} vs {attacker}: {string.Join(" ", c.Rounds.Select(r => r.EvalLoss!.Value.ToString("0.000")))}; rejections {string.Join(",", c.Engine.Store.Rejections())}; log: {string.Join(" | ", log.Where(l => !l.Contains("joined")))}");
        return c.Rounds[^1].EvalLoss!.Value;
    }
}
