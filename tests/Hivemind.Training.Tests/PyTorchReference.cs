using System.Diagnostics;

namespace Hivemind.Training.Tests;

/// <summary>Runs benchmarks/pytorch/hivemind_ref.py with Debian's python3-torch, if it is installed.</summary>
internal static class PyTorchReference
{
    public const string Python = "/usr/bin/python3";
    /// <summary>
    /// A hang guard, not a speed bound: at a load average of 50 on two cores (CI beside four helpers' builds, 2026-12-02) one logits
    /// run did not finish within 2 minutes.
    /// </summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(8);
    private static readonly Lazy<string?> Missing = new(Probe);

    public static string Script => Path.Combine(AppContext.BaseDirectory, "pytorch", "hivemind_ref.py");

    /// <summary>Why the reference cannot run here, or null when it can.</summary>
    public static string? WhyUnavailable => Missing.Value;

    /// <summary>Runs python with <paramref name="args"/>; throws with its stderr on failure or timeout.</summary>
    public static string Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Python, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        // One thread: parity needs no speed, and OpenBLAS/OpenMP worker threads spin-wait, which on an oversubscribed machine makes a
        // two-thread run far slower than one thread. (The speed comparison sets its own thread count with --threads.)
        foreach (var name in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS" })
            if (!args.Contains("--threads")) psi.Environment[name] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Python} {string.Join(' ', args)} did not finish within {Timeout}.");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{Python} {string.Join(' ', args)} exited with {p.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    private static string? Probe()
    {
        if (!File.Exists(Python)) return $"{Python} is not installed (apt install python3-torch python3-numpy libopenblas0-pthread).";
        try
        {
            Run("-c", "import torch, numpy");
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            return $"{Python} cannot import torch and numpy (apt install python3-torch python3-numpy libopenblas0-pthread): {e.Message}";
        }
    }
}
