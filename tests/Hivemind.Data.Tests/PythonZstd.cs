using System.Diagnostics;

namespace Hivemind.Data.Tests;

/// <summary>Runs Debian's python3 with python3-zstandard, the library lm_dataformat reads and writes with.</summary>
internal static class PythonZstd
{
    public const string Python = "/usr/bin/python3";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private static readonly Lazy<string?> Missing = new(Probe);

    /// <summary>Why Python with zstandard cannot run here, or null when it can.</summary>
    public static string? WhyUnavailable => Missing.Value;

    /// <summary>Runs <paramref name="script"/> with <paramref name="args"/>; throws with its stderr on failure or timeout.</summary>
    public static string Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Python} did not finish within {Timeout}.");
        }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{Python} exited with {p.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    private static string? Probe()
    {
        if (!File.Exists(Python)) return $"{Python} is not installed (apt-get install python3-zstandard).";
        try
        {
            Run("import zstandard, json");
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            return $"{Python} cannot import zstandard (apt-get install python3-zstandard): {e.Message}";
        }
    }
}
