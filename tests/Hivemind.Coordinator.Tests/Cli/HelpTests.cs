using System.CommandLine;
using Hivemind.Coordinator.Demo;
using Hivemind.Coordinator.Hosting;
using Hivemind.Volunteer;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>Every option of every command says what it does in <c>--help</c>.</summary>
public sealed class HelpTests
{
    public static TheoryData<string> Commands => new() { "serve", "demo", "volunteer", "audit", "export-ledger" };

    [Fact]
    public void EveryCoordinatorSettingHasADescription()
    {
        var missing = OptionsBinder.Settings.Select(p => p.Name).Where(n => !OptionsBinder.Descriptions.ContainsKey(n)).ToList();
        Assert.True(missing.Count == 0, $"add a description to OptionsBinder.Descriptions for: {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryOptionHasADescription(string name)
    {
        var command = Create(name);
        var bare = command.Options.Where(o => o.Name != "--help" && o.Name != "--version" && !o.Hidden)
            .Where(o => string.IsNullOrWhiteSpace(o.Description) || o.Description.StartsWith('(')).Select(o => o.Name).ToList();
        Assert.True(bare.Count == 0, $"{name}: options without a description: {string.Join(", ", bare)}");
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task HelpPrintsEveryOptionWithItsDescription(string name)
    {
        var run = await CliRun.RunAsync(name == "volunteer" ? ["volunteer", "--help"] : [name, "--help"]);
        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Error);
        foreach (var option in Create(name).Options.Where(o => !o.Hidden && o.Name is not ("--help" or "--version")))
        {
            Assert.Contains(option.Name, run.Out);
            // The first words of the description appear in the help text (it may wrap after them).
            string start = string.Join(' ', option.Description!.Split(' ').Take(2));
            Assert.Contains(start, run.Out);
        }
    }

    private static Command Create(string name)
    {
        var console = new CliConsole(TextWriter.Null, TextWriter.Null, HandlesTermination: false);
        return name switch
        {
            "serve" => ServeCommand.Create(console),
            "demo" => DemoCommand.Create(console),
            "audit" => AuditCommand.Create(console),
            "export-ledger" => AuditCommand.CreateExport(console),
            _ => VolunteerProgram.CreateCommand(),
        };
    }
}
