using System.Diagnostics;

namespace Hivemind.PortMapping.Tests;

/// <summary>
/// The client against a real miniupnpd in network namespaces (netns/run-miniupnpd-test.sh): discovery, mapping, a TCP
/// connection from the WAN side, renewal and removal, over UPnP-IGD and NAT-PMP. Skipped, with the script's reason, where
/// namespaces or miniupnpd are not available.
/// </summary>
public sealed class MiniupnpdTests
{
    /// <summary>Five dotnet starts inside the namespaces plus the daemon; generous for a loaded machine, still bounded.</summary>
    private static readonly TimeSpan ScriptLimit = TimeSpan.FromMinutes(8);
    private const int SkipExitCode = 77;

    [SkippableFact]
    public async Task Real_miniupnpd_maps_forwards_renews_and_removes()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "network namespaces are Linux only");
        var dir = AppContext.BaseDirectory;
        var script = Path.Combine(dir, "netns", "run-miniupnpd-test.sh");
        var cli = Path.Combine(dir, "hivemind-portmap.dll");
        Assert.True(File.Exists(script), $"missing {script}");
        Assert.True(File.Exists(cli), $"missing {cli}");

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(cli);
        // The coordinator steps run when the solution's coordinator is built beside this project (as in CI); the script says when they are skipped.
        var coordinator = CoordinatorBuild(dir);
        if (coordinator is not null) start.ArgumentList.Add(coordinator);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(ScriptLimit);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the miniupnpd script did not finish within {ScriptLimit}; output so far:\n{await stdout}");
        }
        var output = await stdout + await stderr;
        var skipLine = output.Split('\n').FirstOrDefault(l => l.StartsWith("SKIP: ", StringComparison.Ordinal));
        Skip.If(process.ExitCode == SkipExitCode, skipLine ?? "skipped by the script");
        Assert.True(process.ExitCode == 0, $"the miniupnpd script failed (exit {process.ExitCode}):\n{output}");
        Assert.Contains("passed: miniupnpd UPnP-IGD and NAT-PMP", output);
        if (coordinator is not null) Assert.Contains("coordinator reachability check and serve --upnp", output);
    }

    /// <summary>src/Coordinator/bin/CONFIG/TFM/Hivemind.Coordinator.dll for this test's own CONFIG/TFM, when built.</summary>
    private static string? CoordinatorBuild(string testOutput)
    {
        var tfm = new DirectoryInfo(testOutput.TrimEnd(Path.DirectorySeparatorChar));
        var config = tfm.Parent;
        var repo = config?.Parent?.Parent?.Parent?.Parent;
        if (config is null || repo is null) return null;
        var dll = Path.Combine(repo.FullName, "src", "Coordinator", "bin", config.Name, tfm.Name, "Hivemind.Coordinator.dll");
        return File.Exists(dll) ? dll : null;
    }
}
