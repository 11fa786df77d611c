using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Tests;

/// <summary>
/// The `verification` scenario's measurements on the real engine and trainer: a cheater that passes the robust aggregator is
/// caught only by spot checks, honest keys are never flagged, and the recomputation share is what the checks cost.
/// </summary>
public sealed class VerificationScenarioTests
{
    // One lazy cheater among four: it trains nothing and sends 1.1x the round's honest mean (inside the median's honest range).
    private static FaithfulConfig Cheating(double p) => FaithfulFixture.Tiny(volunteers: 4, rounds: 2)
        .WithEngine(e => e with { SpotCheckProbability = p, SpotCheckProbationProbability = p })
        with { Attack = "scaled(factor=1.1)", ByzantineFraction = 0.25 };

    [Fact]
    public void Without_spot_checks_the_cheater_is_aggregated_every_round_and_never_caught()
    {
        var r = FaithfulSimulation.Run(Cheating(p: 0));

        Assert.Equal(1, r.ByzantineKeys);
        Assert.Equal(0, r.SpotChecksRun);
        Assert.Equal(0, r.CaughtByzantine);
        Assert.Null(r.RoundsToBanAll);
        Assert.Equal(2, r.ByzantineAccepted); // it passes every submit-path check, both rounds ...
        Assert.Equal(2, r.ByzantineAggregated); // ... and reaches both aggregates
        Assert.Equal(0, r.RecomputedShare);
    }

    [Fact]
    public void Checking_every_update_bans_the_cheater_in_its_first_round_drops_its_update_and_flags_no_honest_key()
    {
        var r = FaithfulSimulation.Run(Cheating(p: 1));

        Assert.Equal(1, r.CaughtByzantine);
        Assert.Equal(1, r.RoundsToBanAll);
        Assert.Equal(0, r.HonestFlagged);
        Assert.Equal(1, r.ByzantineAccepted); // banned after its first update: it gets no second unit
        Assert.Equal(0, r.ByzantineAggregated); // and that update was dropped before the round closed
        Assert.Equal(r.AcceptedSubmissions, r.SpotChecksRun); // every accepted unit was trained again: 100% extra compute
        Assert.Equal(1.0, r.RecomputedShare);
    }

    [Fact]
    public void The_shipped_scenario_sweeps_the_probabilities_and_reports_the_verification_table()
    {
        string text = ShippedScenarios.Text(ShippedScenarios.Find("verification")!);
        var scenario = ScenarioLoader.Parse(text, "verification");
        // Two probabilities of the smoke size keep this to seconds; the shipped smoke test runs the whole sweep.
        scenario = scenario with { Faithful = scenario.Faithful! with { SpotCheckSweep = [0, 1] }, Smoke = scenario.Smoke! with { Rounds = 2 } };

        var outcome = FaithfulRunner.Run(scenario, smoke: true);

        Assert.Equal(["0", "1"], outcome.Runs.Select(r => r[FaithfulRunner.VerificationAxis]));
        Assert.All(outcome.Runs, r => Assert.Equal(0, r.Result.HonestFlagged));
        Assert.Equal(0, outcome.Runs[0].Result.CaughtByzantine);
        Assert.Equal(outcome.Runs[1].Result.ByzantineKeys, outcome.Runs[1].Result.CaughtByzantine);
        string folder = Path.Combine(Path.GetTempPath(), "hm-verification-" + Guid.NewGuid().ToString("N"));
        try
        {
            FaithfulReportWriter.Write(outcome, text, folder);
            string report = File.ReadAllText(Path.Combine(folder, "report.md"));
            Assert.Contains("## Verification: spot checks against cheating volunteers", report);
            Assert.Contains("| scaled(factor=1.1) | 1 | 1 | 1 | 1 | 1 of 2 | 0 |", report);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
