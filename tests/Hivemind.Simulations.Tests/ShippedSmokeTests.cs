using Hivemind.Simulations.Cli;
using Hivemind.Simulations.Reports;
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

        // Figures that cannot go stale: every smoke-size table README and docs quote from this scenario is what it computes now.
        foreach (var (file, block) in QuotedBlocks().Where(q => q.Block.Scenario == name && q.Block.Smoke))
        {
            Assert.True(QuotedFigures.Table(report, block.Section) == block.Quoted,
                $"{file} quotes a {name} --smoke table of \"{block.Section}\" that differs from the report; run `dotnet run -c Release --project simulations -- figures` from the repository root");
        }
    }

    [Fact]
    public void Full_size_quoted_figures_are_scale_mode_and_match_their_report()
    {
        foreach (var (file, block) in QuotedBlocks().Where(q => !q.Block.Smoke))
        {
            // Full-size faithful runs take minutes to hours: README quotes their smoke size instead, and docs name the command.
            Assert.True(ShippedScenarios.Find(block.Scenario) is not null, $"{file} quotes unknown scenario {block.Scenario}");
            var (scenario, _) = ScenarioSource.Resolve(block.Scenario);
            Assert.True(scenario.Mode == ScenarioMode.Scale, $"{file} quotes full-size faithful {block.Scenario}; quote its smoke size (seconds, checked here)");
            Assert.True(QuotedFigures.Table(FiguresCommand.Report(block.Scenario, smoke: false), block.Section) == block.Quoted,
                $"{file} quotes a {block.Scenario} table of \"{block.Section}\" that differs from the report; run `... figures`");
        }
    }

    /// <summary>Every figures block of README.md and docs/**/*.md, found from the repository root.</summary>
    internal static IEnumerable<(string File, QuotedFigures.Block Block)> QuotedBlocks()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hivemind.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var files = Directory.GetFiles(Path.Combine(dir.FullName, "docs"), "*.md", SearchOption.AllDirectories).Prepend(Path.Combine(dir.FullName, "README.md"));
        return files.SelectMany(f => QuotedFigures.Blocks(File.ReadAllText(f), f).Select(b => (f, b))).ToList();
    }

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }
}
