using System.Diagnostics;
using Hivemind.Training.Allocator;

namespace Hivemind.Training.Tests;

/// <summary>The decision to restart a training process with glibc's allocator tuned, and what a child process inherits.</summary>
public sealed class MallocTuningTests
{
    private const string Recommended = "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432:glibc.malloc.arena_max=1";

    private static Func<string, string?> Env(params (string Name, string Value)[] set) =>
        name => set.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void RecommendedSettingsAreTheMeasuredOnes() => Assert.Equal(Recommended, MallocTuning.RecommendedTunables);

    [Fact]
    public void AnUntunedGlibcProcessRestartsWithTheSettings()
    {
        var plan = MallocTuning.Decide(Env(), isGlibc: true);
        Assert.True(plan.Relaunch);
        Assert.True(plan.Active);
        Assert.Equal(Recommended, plan.Tunables);
        Assert.Contains("HIVEMIND_MALLOC_TUNING=off", plan.Message);
    }

    [Fact]
    public void ATunedProcessDoesNotRestartAndSaysSo()
    {
        var plan = MallocTuning.Decide(Env(("GLIBC_TUNABLES", Recommended), (MallocTuning.GuardVariable, "1")), isGlibc: true);
        Assert.False(plan.Relaunch);
        Assert.True(plan.Active);
        Assert.Contains("restarted itself", plan.Message);
    }

    [Fact]
    public void TheGuardStopsASecondRestartEvenWhenTheSettingsDidNotArrive()
    {
        // Whatever stripped the variable (a wrapper script, a setuid loader), the restarted process must not loop.
        var plan = MallocTuning.Decide(Env((MallocTuning.GuardVariable, "1")), isGlibc: true);
        Assert.False(plan.Relaunch);
        Assert.False(plan.Active);
        Assert.Contains("not in force", plan.Message);
    }

    [Theory]
    [InlineData("off")]
    [InlineData("OFF")]
    [InlineData("0")]
    [InlineData("false")]
    public void TheUserCanSwitchItOff(string value)
    {
        var plan = MallocTuning.Decide(Env((MallocTuning.SwitchVariable, value)), isGlibc: true);
        Assert.False(plan.Relaunch);
        Assert.False(plan.Active);
        Assert.StartsWith("malloc tuning off", plan.Message);
    }

    [Fact]
    public void AMalformedSwitchIsAnErrorNamingTheValueAndTheFix()
    {
        var e = Assert.Throws<ArgumentException>(() => MallocTuning.Decide(Env((MallocTuning.SwitchVariable, "maybe")), isGlibc: true));
        Assert.Contains("'maybe'", e.Message);
        Assert.Contains("off", e.Message);
    }

    [Fact]
    public void TheUsersOwnTunablesWinAndOnlyMissingSettingsAreAdded()
    {
        var plan = MallocTuning.Decide(Env(("GLIBC_TUNABLES", "glibc.malloc.arena_max=4:glibc.cpu.hwcaps=-AVX512F")), isGlibc: true);
        Assert.True(plan.Relaunch);
        Assert.Equal("glibc.malloc.arena_max=4:glibc.cpu.hwcaps=-AVX512F:glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432", plan.Tunables);
    }

    [Fact]
    public void TunablesThatAlreadyHoldEverySettingNeedNoRestart()
    {
        var plan = MallocTuning.Decide(Env(("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1:glibc.malloc.mmap_threshold=2")), isGlibc: true);
        Assert.False(plan.Relaunch);
        Assert.True(plan.Active);
    }

    [Fact]
    public void AnotherCLibraryIsLeftAlone()
    {
        var plan = MallocTuning.Decide(Env(), isGlibc: false);
        Assert.False(plan.Relaunch);
        Assert.False(plan.Active);
    }

    [Fact]
    public void ThisTestHostRunsOnGlibc() => Assert.Equal(OperatingSystem.IsLinux(), MallocRelaunch.IsGlibc());

    [Fact]
    public void AChildProcessStartedThroughApplyToSeesTheSettings()
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false, ArgumentList = { "-c", "printf %s \"$GLIBC_TUNABLES\"" } };
        MallocTuning.ApplyTo(start, Env(), isGlibc: true);
        Assert.Equal(Recommended, Run(start));

        var off = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false, ArgumentList = { "-c", "printf %s \"$GLIBC_TUNABLES\"" } };
        off.Environment.Remove("GLIBC_TUNABLES");
        MallocTuning.ApplyTo(off, Env((MallocTuning.SwitchVariable, "off")), isGlibc: true);
        Assert.Equal("", Run(off));
    }

    private static string Run(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "sh did not exit within 30 s");
        return output;
    }
}
