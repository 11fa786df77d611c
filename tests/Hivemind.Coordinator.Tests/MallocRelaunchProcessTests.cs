using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Training.Allocator;

namespace Hivemind.Coordinator.Tests;

/// <summary>A volunteer process restarts itself with glibc's allocator tuned, by default, once, and not when told off.</summary>
public sealed class MallocRelaunchProcessTests
{
    /// <summary>Bound on the wait for a volunteer's first lines (no libtorch load is needed before them).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    /// <summary>Nothing listens here: the volunteer logs its allocator line before it dials.</summary>
    private const string NowhereAddress = "http://127.0.0.1:9";

    private static ChildProcess Volunteer(TempDirectory dir, string? tuning) => ChildProcess.Start(
        new Dictionary<string, string?>
        {
            [MallocTuning.TunablesVariable] = null,
            [MallocTuning.GuardVariable] = null,
            [MallocTuning.SwitchVariable] = tuning,
        },
        "volunteer", "--coordinator", NowhereAddress, "--key", Path.Combine(dir.Path, "v.key"), "--cache", Path.Combine(dir.Path, "cache"), "--max-units", "1");

    [Fact]
    public async Task AVolunteerStartedWithoutTheSettingsRestartsItselfWithThem()
    {
        if (!MallocRelaunch.IsGlibc()) return; // GLIBC_TUNABLES means nothing elsewhere
        using var dir = new TempDirectory();
        using var volunteer = Volunteer(dir, tuning: null);
        // The line is computed by the restarted process from its own environment: it names the guard it found there.
        // (The volunteer's view wraps it at 80 columns, hence the whitespace-blind match.)
        await volunteer.WaitForTextAsync($"malloc tuning on: GLIBC_TUNABLES={MallocTuning.RecommendedTunables} (this process restarted itself with it)", Patience);
    }

    [Fact]
    public async Task OffKeepsGlibcsDefaultsAndSaysSo()
    {
        using var dir = new TempDirectory();
        using var volunteer = Volunteer(dir, tuning: "off");
        await volunteer.WaitForTextAsync("malloc tuning off (HIVEMIND_MALLOC_TUNING=off)", Patience);
    }

    [Fact]
    public async Task AMalformedSwitchStopsTheVolunteerWithTheFix()
    {
        using var dir = new TempDirectory();
        using var volunteer = Volunteer(dir, tuning: "maybe");
        await volunteer.WaitForTextAsync("error: HIVEMIND_MALLOC_TUNING='maybe' is neither on nor off", Patience);
        Assert.Equal(2, volunteer.WaitForExit(Patience));
    }
}
