using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Running;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Tests;

public sealed class ReportDeterminismTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hm-sim-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string RunInto(string name, string shipped, int? seed = null)
    {
        string text = ShippedScenarios.Text(ShippedScenarios.Find(shipped)!);
        var scenario = ScenarioLoader.Parse(text, shipped);
        if (seed is { } s)
        {
            scenario = scenario with { Seed = s };
        }

        string folder = Path.Combine(_root, name);
        ReportWriter.Write(ScenarioRunner.Run(scenario, smoke: true), text, folder);
        return folder;
    }

    [Theory]
    [InlineData("overhead", "sweep.csv")]
    [InlineData("pool", "cluster-match.csv")]
    public void Same_seed_gives_byte_identical_report_and_csv(string shipped, string csv)
    {
        string a = RunInto("a", shipped), b = RunInto("b", shipped), other = RunInto("other", shipped, seed: 2);

        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "report.md")), File.ReadAllBytes(Path.Combine(b, "report.md")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, csv)), File.ReadAllBytes(Path.Combine(b, csv)));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(a, "sweep.csv")), File.ReadAllBytes(Path.Combine(other, "sweep.csv")));
    }

    [Fact]
    public void Report_folder_holds_the_scenario_copy_tables_and_png_plots()
    {
        string folder = RunInto("files", "overhead");

        Assert.Equal(ShippedScenarios.Text(ShippedScenarios.Find("overhead")!), File.ReadAllText(Path.Combine(folder, "scenario.json")));
        string report = File.ReadAllText(Path.Combine(folder, "report.md"));
        Assert.Contains("| link Mb/s (median) | H | codec |", report);
        Assert.Contains("![Compute utilization against link Mb/s (median)](utilization.png)", report);
        byte[] pngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G'];
        foreach (var png in new[] { "utilization.png", "tokens-per-second.png", "bytes-per-token.png" })
        {
            Assert.Equal(pngSignature, File.ReadAllBytes(Path.Combine(folder, png)).Take(4));
        }

        // 27 sweep points plus the header line.
        Assert.Equal(28, File.ReadAllLines(Path.Combine(folder, "sweep.csv")).Length);
    }
}
