using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Simulation;

namespace Hivemind.Simulations.Tests;

public sealed class FaithfulSimulationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hm-faithful-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Same_seed_gives_byte_identical_faithful_report()
    {
        string text = ShippedScenarios.Text(ShippedScenarios.Find("attack-matrix")!);
        // Two aggregator runs of the smoke size keep this test to seconds; the shipped smoke adds the attacked runs.
        var scenario = ScenarioLoader.Parse(text, "attack-matrix") with { };
        scenario = scenario with { Smoke = scenario.Smoke! with { Aggregators = ["mean"], Attacks = ["sign-flip"], Rounds = 2, Seeds = 1 } };
        string a = Path.Combine(_root, "a"), b = Path.Combine(_root, "b");

        FaithfulReportWriter.Write(FaithfulRunner.Run(scenario, smoke: true), text, a);
        FaithfulReportWriter.Write(FaithfulRunner.Run(scenario, smoke: true), text, b);

        Assert.Equal(File.ReadAllText(Path.Combine(a, "report.md")), File.ReadAllText(Path.Combine(b, "report.md")));
        Assert.Equal(File.ReadAllText(Path.Combine(a, "rounds.csv")), File.ReadAllText(Path.Combine(b, "rounds.csv")));
        Assert.Contains("| 0.1 | mean | sign-flip | 1/5 | 1 |", File.ReadAllText(Path.Combine(a, "report.md")));
    }

    [Fact]
    public void Stragglers_make_the_round_as_long_as_the_slowest_unit_when_quorum_is_everyone()
    {
        var plain = FaithfulSimulation.Run(FaithfulFixture.Tiny(volunteers: 2, rounds: 1));
        var slow = FaithfulSimulation.Run(FaithfulFixture.Tiny(volunteers: 2, rounds: 1) with { StragglerFraction = 1, StragglerSlowdown = 4 });

        double compute = plain.Rounds[0].ComputeSeconds;
        Assert.True(compute > 0);
        // Every unit is 4x slower, so the round grows by exactly 3 compute times (same links, same close).
        Assert.Equal(plain.Rounds[0].RoundSeconds + 3 * compute, slow.Rounds[0].RoundSeconds, 6);
        Assert.Equal(plain.FinalLoss, slow.FinalLoss, 12);
    }

    [Fact]
    public void A_lost_unit_holds_the_round_until_its_lease_expires_and_is_reissued()
    {
        var steady = FaithfulFixture.Tiny(volunteers: 2, rounds: 1).WithEngine(e => e with { LeaseDuration = TimeSpan.FromSeconds(60) });
        var a = FaithfulSimulation.Run(steady);
        var b = FaithfulSimulation.Run(steady with { SessionHours = Distribution.Constant(1) });
        Assert.Equal(a.Rounds[0].RoundSeconds, b.Rounds[0].RoundSeconds, 9);
        Assert.Equal(0, b.UnitsLostToChurn);

        // A volunteer waits out the participant draw's window (2 s) and then trains a unit for about 0.66 virtual seconds, so
        // sessions of 2.2 to 3.1 s lose about half of the units (shorter ones would never win a draw at all). A lost unit's lease
        // must expire (60 s) before the engine reissues it to a volunteer who joins again after a 36 s gap.
        const double SecondsPerHour = 3600;
        var sessions = new Distribution(DistributionKind.Uniform, Min: 2.2 / SecondsPerHour, Max: 3.1 / SecondsPerHour);
        var churned = steady with { SessionHours = sessions, OfflineHours = Distribution.Constant(0.01) };
        var lost = FaithfulSimulation.Run(churned);
        Assert.True(lost.UnitsLostToChurn >= 1, $"expected units lost to churn, got {lost.UnitsLostToChurn}");
        Assert.True(lost.Rounds[0].RoundSeconds >= churned.Engine.LeaseDuration.TotalSeconds, $"round took {lost.Rounds[0].RoundSeconds} s; a lost unit waits for its {churned.Engine.LeaseDuration.TotalSeconds} s lease");
    }

    [Fact]
    public void Attackers_asking_first_no_longer_take_every_lease_of_a_round()
    {
        // Four label-flip attackers hold the first four of eight slots, so they join and ask before every honest volunteer; a round
        // takes three units. First-come leasing hands them every unit of every round; the engine's participant draw (its default
        // window, as `serve` runs it) picks the three at random among everyone asking within the window.
        var crowd = (FaithfulFixture.Tiny(volunteers: 8, rounds: 3) with { Attack = FaithfulConfig.LabelFlipAttack, ByzantineFraction = 0.5, AttackersAskFirst = true })
            .WithEngine(e => e with { Quorum = 3 });
        Assert.Equal(new Hivemind.Coordinator.CoordinatorOptions().ParticipantDrawWindow, crowd.Engine.ParticipantDrawWindow);
        Assert.True(crowd.Engine.ParticipantDrawWindow > TimeSpan.Zero);

        var firstCome = FaithfulSimulation.Run(crowd.WithEngine(e => e with { ParticipantDrawWindow = TimeSpan.Zero }));
        var drawn = FaithfulSimulation.Run(crowd);

        Assert.Equal(9, firstCome.AcceptedSubmissions);
        Assert.Equal(firstCome.AcceptedSubmissions, firstCome.ByzantineAccepted);
        Assert.Equal(3, drawn.Rounds.Count);
        Assert.True(drawn.ByzantineAccepted < drawn.AcceptedSubmissions,
            $"with the draw the attackers still took {drawn.ByzantineAccepted} of {drawn.AcceptedSubmissions} units");
    }

    [Fact]
    public void Sign_flip_against_mean_raises_the_final_loss()
    {
        var clean = FaithfulFixture.Tiny(volunteers: 4, rounds: 3).WithEngine(e => e with { TrunkRule = "mean", ExpertRule = "mean" });
        var attacked = clean with { Attack = "sign-flip", ByzantineFraction = 0.25 };

        var a = FaithfulSimulation.Run(clean);
        var b = FaithfulSimulation.Run(attacked);

        // Measured: 3.830 clean vs 4.327 attacked (+0.497) in the attack-matrix smoke; demand a tenth of that.
        const double MinimumRise = 0.05;
        Assert.True(b.FinalLoss - a.FinalLoss > MinimumRise, $"final loss {b.FinalLoss:F3} with one sign-flip attacker vs {a.FinalLoss:F3} without");
        Assert.Equal(0, b.UnitsRejected);
    }

    [Fact]
    public void Karimireddy_mimic_runs_through_the_engine_and_its_copies_pass_as_honest()
    {
        // mimic(warmup=1): round 1 picks the volunteer furthest along the heterogeneity direction, later rounds copy that same key's
        // update (AttackTests checks the choice itself). Every copy is an honest update, so the engine accepts all of them.
        var run = FaithfulSimulation.Run((FaithfulFixture.Tiny(volunteers: 5, rounds: 3) with { Attack = "mimic(warmup=1)", ByzantineFraction = 0.2, DomainAlpha = 0.1 })
            .WithEngine(e => e with { TrunkRule = "median", ExpertRule = "median" }));
        Assert.Equal(3, run.Rounds.Count);
        Assert.Equal(0, run.UnitsRejected);
        Assert.True(run.ByzantineAccepted >= 3, $"{run.ByzantineAccepted} mimic updates accepted");
    }

    [Fact]
    public void With_stragglers_and_spare_leases_staleness_one_aggregates_late_updates_that_staleness_zero_rejects()
    {
        // One volunteer in four is 8x slower and one unit per round is leased beyond the quorum of 4: each round closes on
        // the fastest 4 units, so some unit is still training when its round closes. The spare unit goes out in the participant draw
        // one window (2 s) after the fast units return, so the straggler must take longer than that plus a unit (0.66 s) more.
        var late = (FaithfulFixture.Tiny(volunteers: 4, rounds: 3) with { StragglerFraction = 0.25, StragglerSlowdown = 8 }).WithEngine(e => e with { SpareLeases = 1 });

        var synchronous = FaithfulSimulation.Run(late.WithEngine(e => e with { MaxStaleness = 0 }));
        var bounded = FaithfulSimulation.Run(late.WithEngine(e => e with { MaxStaleness = 1 }));

        // Both counts come from the engine's own store: rejections by reason, and accepted rows whose version is older than their round.
        Assert.True(synchronous.StaleRejected >= 1, $"staleness 0 rejected {synchronous.StaleRejected} late updates");
        Assert.Equal(0, synchronous.LateAccepted);
        Assert.Equal(synchronous.StaleRejected, synchronous.Rejections.GetValueOrDefault("stale-round"));
        Assert.True(bounded.LateAccepted >= 1, $"staleness 1 aggregated {bounded.LateAccepted} late updates");
        Assert.True(bounded.StaleRejected < synchronous.StaleRejected,
            $"staleness 1 rejected {bounded.StaleRejected} as stale, staleness 0 {synchronous.StaleRejected}");
        Assert.Equal(3, bounded.Rounds.Count);
    }

    [Fact]
    public void Eager_volunteers_train_ahead_and_the_engine_accepts_their_updates_one_version_late()
    {
        // Issue 16: the same run as the staleness test, once synchronous and once with eager volunteers (the engine's eager slots
        // and max staleness 1, FaithfulRunner.EagerConfig); every eager unit goes through the real engine's submit path.
        // Established keys (no probation): the engine gives eager units only to keys past it.
        var late = (FaithfulFixture.Tiny(volunteers: 4, rounds: 3) with { StragglerFraction = 0.25, StragglerSlowdown = 4 }).WithEngine(e => e with { SpareLeases = 1, ProbationReputation = 0 });

        var synchronous = FaithfulSimulation.Run(late);
        var eager = FaithfulSimulation.Run(FaithfulRunner.EagerConfig(late));

        Assert.Equal(0, synchronous.EagerUnits);
        Assert.True(eager.EagerUnits >= 1, $"{eager.EagerUnits} eager units leased");
        Assert.True(eager.LateAccepted >= eager.EagerUnits - eager.StaleRejected, $"{eager.LateAccepted} late updates accepted of {eager.EagerUnits} eager units");
        Assert.Equal(eager.StaleRejected, eager.UnitsRejected); // nothing but staleness is ever refused
        Assert.Equal(3, eager.Rounds.Count);
        Assert.Equal(synchronous.UnitsAccepted, eager.UnitsAccepted); // the same units aggregated: the same tokens
        Assert.True(eager.VirtualSeconds < synchronous.VirtualSeconds, $"eager {eager.VirtualSeconds:F3} s vs synchronous {synchronous.VirtualSeconds:F3} s of virtual time");
    }

    [Fact]
    public void Without_spare_leases_no_update_arrives_late()
    {
        var config = (FaithfulFixture.Tiny(volunteers: 4, rounds: 2) with { StragglerFraction = 0.25, StragglerSlowdown = 4 }).WithEngine(e => e with { MaxStaleness = 1 });

        var r = FaithfulSimulation.Run(config);

        Assert.Equal(0, r.LateAccepted);
        Assert.Equal(0, r.StaleRejected);
    }

    [Fact]
    public void Moe_vs_dense_smoke_runs_the_staleness_sweep_with_spare_leases()
    {
        var (scenario, _) = Cli.ScenarioSource.Resolve("moe-vs-dense");
        var smoke = FaithfulRunner.WithSmoke(scenario);
        Assert.Equal([0, 1], smoke.Faithful!.StalenessSweep);
        Assert.Equal([0, 1, 2], scenario.Faithful!.StalenessSweep);
        Assert.True(scenario.Faithful.StalenessSpareLeases >= 1);
        Assert.True(scenario.Volunteers.Stragglers.Fraction > 0);
    }

    [Theory]
    [InlineData("\"stalenessSweep\": [0, -1]", "faithful.stalenessSweep has -1")]
    [InlineData("\"stalenessSweep\": [1], \"stalenessSpareLeases\": 0", "faithful.stalenessSpareLeases = 0")]
    [InlineData("\"engine\": { \"maxStaleness\": -2 }", "max-staleness -2 must not be negative")]
    [InlineData("\"engine\": { \"spareLeases\": -1 }", "spare-leases -1 must not be negative")]
    public void Bad_staleness_settings_name_the_field(string faithful, string expected)
    {
        string json = "{ \"name\": \"m\", \"mode\": \"faithful\", \"volunteers\": { \"count\": 4, \"devices\": [{ \"device\": \"cpu\" }] }, "
            + "\"round\": { \"rounds\": 4 }, \"faithful\": { \"experiment\": \"moe-vs-dense\", " + faithful + " } }";

        var e = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(json, "test.json"));

        Assert.Contains(expected, e.Message);
    }
}
