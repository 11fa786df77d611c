using System.Diagnostics;

namespace Hivemind.PortMapping.Tests;

/// <summary>
/// The client against a real miniupnpd in network namespaces (netns/run-miniupnpd-test.sh): discovery, mapping, a TCP
/// connection from the WAN side, renewal and removal, over UPnP-IGD and NAT-PMP. Skipped, with the script's reason, where
/// namespaces or miniupnpd are not available.
/// </summary>
public sealed class MiniupnpdTests
{
    /// <summary>Two dotnet starts inside the namespace plus the daemon; generous for a loaded machine, still bounded.</summary>
    private static readonly TimeSpan ScriptLimit = TimeSpan.FromMinutes(5);
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
    }
}
