using System.Runtime.InteropServices;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Tests;

/// <summary>A native error in one run of a scenario is reported with the run's axes; the other runs and the report still happen.</summary>
public sealed class FaithfulFailureTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hm-faithful-failure-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void A_native_error_names_the_failed_run_and_the_scenario_goes_on()
    {
        string text = ShippedScenarios.Text(ShippedScenarios.Find("attack-matrix")!);
        var scenario = ScenarioLoader.Parse(text, "attack-matrix");
        scenario = scenario with { Smoke = scenario.Smoke! with { Aggregators = ["mean"], Attacks = ["sign-flip"], Rounds = 2, Seeds = 1 } };
        // The run without attack is the reference of the attacked ones: failing it is the hardest case for the report.
        var outcome = FaithfulRunner.Run(scenario, smoke: true, progress: null, simulate: config =>
            config.Attack is null ? throw new ExternalException("Unknown scalar type.\nException raised from toFloat") : FaithfulSimulation.Run(config));

        var failure = Assert.Single(outcome.Failures);
        Assert.Contains(("attack", "none"), failure.Axes);
        Assert.Equal("ExternalException: Unknown scalar type.", failure.Error);
        Assert.NotEmpty(outcome.Runs);
        Assert.All(outcome.Runs, r => Assert.NotEqual("none", r["attack"]));

        FaithfulReportWriter.Write(outcome, text, _root);
        string report = File.ReadAllText(Path.Combine(_root, "report.md"));
        Assert.Contains("## Failed runs", report);
        Assert.Contains($"- {failure.Label}: ExternalException: Unknown scalar type.", report);
        Assert.Contains("no reference", report);
    }

    [Fact]
    public void Other_errors_still_stop_the_scenario()
    {
        var scenario = ScenarioLoader.Parse(ShippedScenarios.Text(ShippedScenarios.Find("attack-matrix")!), "attack-matrix");
        // Only native errors are a run's own failure; a bug in our code must not be folded into a report.
        Assert.Throws<InvalidOperationException>(() =>
            FaithfulRunner.Run(scenario, smoke: true, progress: null, simulate: _ => throw new InvalidOperationException("bug")));
    }
}
