using Hivemind.Simulations.Cli;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Tests;

/// <summary>Every shipped scenario runs at its --smoke size through the real command line and writes its report (this is what CI runs).</summary>
public sealed class ShippedSmokeTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "hivemind-smoke-" + Guid.NewGuid().ToString("N"));

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var s in ShippedScenarios.All) data.Add(s.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task ShippedScenarioRunsAtSmokeSize(string name)
    {
        Assert.True(ShippedScenarios.Find(name)!.Runnable, $"{name} is listed but cannot run");
        string folder = Path.Combine(_out, name);
        int code = await SimulatorCli.Create().Parse(["run", name, "--out", folder, "--smoke"]).InvokeAsync();
        Assert.Equal(0, code);
        string report = await File.ReadAllTextAsync(Path.Combine(folder, "report.md"));
        Assert.Contains("|", report); // at least one table
        Assert.True(File.Exists(Path.Combine(folder, "scenario.json")), "the report folder must hold a copy of the scenario");
    }

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }
}
