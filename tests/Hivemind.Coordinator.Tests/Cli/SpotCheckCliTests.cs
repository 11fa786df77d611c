using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.SpotChecks;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>The spot-check commands: the calibration's property at CI size across kernel paths, and verify-evidence's refusals.</summary>
public sealed class SpotCheckCliTests
{
    /// <summary>Three child processes, two short units each, on a loaded machine.</summary>
    private static readonly TimeSpan CalibrationPatience = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task HonestRecomputationsAcrossKernelPathsPassAndEveryCheatClassIsCaught()
    {
        // Scalar kernels, the widest kernels at 2 threads, and the widest with .NET held to 256-bit vectors: as far apart as this CPU allows.
        var available = KernelPath.Available();
        var paths = new[] { available[0], available.Last(p => p.Threads == 2), available[^1] }.DistinctBy(p => p.Name).ToList();
        Assert.True(paths.Count >= 2, $"this CPU offers too few kernel paths: {string.Join(", ", available.Select(p => p.Name))}");
        using var dir = new TempDirectory();
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await CoordinatorCli.RunAsync(
            [CalibrateChecksCommand.Name, "--units", "3", "--inner-steps", "4", "--paths", string.Join(",", paths.Select(p => p.Name)), "--directory", dir.Path],
            new CliConsole(output, error, HandlesTermination: false)).WaitAsync(CalibrationPatience);
        string text = output.ToString();
        Assert.True(code == 0, $"calibrate-checks exited {code}:\n{text}\n{error}");
        Assert.Contains("false positives: 0", text, StringComparison.Ordinal);
        Assert.Contains("RESULT: holds", text, StringComparison.Ordinal);
        // Every cheat class was measured, against recomputations on the other paths.
        foreach (var cheat in CheckCalibration.Cheats) Assert.Contains($"| {cheat} |", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyEvidenceRefusesAMissingOrForeignFile()
    {
        using var dir = new TempDirectory();
        var missing = await CliRun.RunAsync(VerifyEvidenceCommand.Name, Path.Combine(dir.Path, "nothing.evidence"));
        Assert.Equal(CommandLineRunner.UsageExitCode, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error, StringComparison.Ordinal);
        string foreign = Path.Combine(dir.Path, "foreign.evidence");
        await File.WriteAllTextAsync(foreign, "not evidence");
        var refused = await CliRun.RunAsync(VerifyEvidenceCommand.Name, foreign);
        Assert.Equal(CommandLineRunner.UsageExitCode, refused.ExitCode);
        Assert.Contains("not a readable evidence file", refused.Error, StringComparison.Ordinal);
    }
}
