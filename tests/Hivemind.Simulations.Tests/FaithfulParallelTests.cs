using Hivemind.Simulations.Cli;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Tests;

/// <summary>`run --parallel N` runs faithful engine runs side by side and writes the same report as one at a time.</summary>
public sealed class FaithfulParallelTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hm-faithful-parallel-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Two_runs_at_once_give_the_byte_identical_report_in_job_order()
    {
        string text = ShippedScenarios.Text(ShippedScenarios.Find("attack-matrix")!);
        var scenario = ScenarioLoader.Parse(text, "attack-matrix");
        scenario = scenario with { Smoke = scenario.Smoke! with { Attacks = ["sign-flip"], Rounds = 2, Seeds = 2 } };
        var serial = FaithfulRunner.Run(scenario, smoke: true, progress: null, simulate: FaithfulSimulation.Run);
        var parallel = FaithfulRunner.Run(scenario, smoke: true, progress: null, simulate: FaithfulSimulation.Run, parallelism: 2);

        Assert.Equal(4, parallel.Runs.Count);
        Assert.Equal(serial.Runs.Select(r => r.Cell + ", seed " + r[FaithfulRun.SeedAxis]), parallel.Runs.Select(r => r.Cell + ", seed " + r[FaithfulRun.SeedAxis]));
        FaithfulReportWriter.Write(serial, text, Path.Combine(_root, "serial"));
        FaithfulReportWriter.Write(parallel, text, Path.Combine(_root, "parallel"));
        foreach (string file in new[] { "report.md", "runs.csv", "rounds.csv" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "serial", file)), File.ReadAllBytes(Path.Combine(_root, "parallel", file)));
        }
    }

    [Fact]
    public async Task Parallel_below_one_is_refused_and_writes_nothing()
    {
        int code = await SimulatorCli.Create().Parse(["run", "attack-matrix", "--out", Path.Combine(_root, "x"), "--smoke", "--parallel", "0"]).InvokeAsync();
        Assert.Equal(RunCommand.ScenarioError, code);
        Assert.False(Directory.Exists(Path.Combine(_root, "x")), "a refused run must write nothing");
    }
}
