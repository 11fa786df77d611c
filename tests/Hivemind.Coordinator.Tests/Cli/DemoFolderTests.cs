using Hivemind.Coordinator.Demo;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>The demo wipes only folders it made.</summary>
public sealed class DemoFolderTests
{
    [Fact]
    public async Task DemoRefusesAFolderThatIsNotAPreviousDemosAndLeavesItAlone()
    {
        using var scratch = new TempDirectory();
        string precious = Path.Combine(scratch.Path, "thesis.tex");
        File.WriteAllText(precious, "years of work");

        var run = await CliRun.RunAsync("demo", "--data-directory", scratch.Path);

        Assert.Equal(CommandLineRunner.UsageExitCode, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains($"--data-directory '{scratch.Path}'", line);
        Assert.Contains(DemoFolder.MarkerName, line);
        Assert.Equal("years of work", File.ReadAllText(precious));
        Assert.Equal([precious], Directory.GetFileSystemEntries(scratch.Path));
    }

    [Fact]
    public void APreviousDemosFolderIsWipedAndMarkedAgain()
    {
        using var scratch = new TempDirectory();
        string folder = Path.Combine(scratch.Path, "demo");
        DemoFolder.Prepare(folder);
        File.WriteAllText(Path.Combine(folder, "coordinator.db"), "old run");

        DemoFolder.Prepare(folder);

        Assert.Equal([Path.Combine(folder, DemoFolder.MarkerName)], Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void AnEmptyOrMissingFolderIsUsedAndMarked()
    {
        using var scratch = new TempDirectory();
        DemoFolder.Prepare(scratch.Path); // exists, empty
        Assert.True(File.Exists(Path.Combine(scratch.Path, DemoFolder.MarkerName)));
        string missing = Path.Combine(scratch.Path, "new", "demo");
        DemoFolder.Prepare(missing);
        Assert.True(File.Exists(Path.Combine(missing, DemoFolder.MarkerName)));
    }

    [Fact]
    public void AFileIsRefused()
    {
        using var scratch = new TempDirectory();
        string file = Path.Combine(scratch.Path, "notes.txt");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<UsageException>(() => DemoFolder.Prepare(file));
        Assert.Contains($"--data-directory '{file}' is a file", e.Message);
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Theory]
    [InlineData(0, 0, 42, "00:42")]
    [InlineData(0, 59, 59, "59:59")]
    [InlineData(1, 12, 2, "1:12:02")] // a 72-minute real-text demo printed "12:02" before
    public void TheDemosClockKeepsTheHours(int hours, int minutes, int seconds, string expected) =>
        Assert.Equal(expected, DemoRunner.Clock(new TimeSpan(hours, minutes, seconds)));
}
