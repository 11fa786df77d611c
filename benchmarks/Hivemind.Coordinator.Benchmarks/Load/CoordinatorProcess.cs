using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Hivemind.Coordinator.Benchmarks.Load;

/// <summary>A real `serve` process (this build's coordinator executable) and its resident memory.</summary>
internal sealed partial class CoordinatorProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _tail = [];
    private readonly StreamWriter _log;
    private bool _disposed;

    private CoordinatorProcess(Process process, string logPath)
    {
        _process = process;
        _log = new StreamWriter(logPath) { AutoFlush = false };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) => _address.TrySetException(new InvalidOperationException($"serve exited with code {_process.ExitCode}:\n{Tail()}"));
    }

    public int Id => _process.Id;

    /// <summary>Rounds the coordinator logged as closed.</summary>
    public int RoundsClosed { get; private set; }

    /// <summary>When each "round N closed" line arrived (<see cref="Stopwatch"/> timestamps): the end of each close, as seen here.</summary>
    public List<long> CloseTimes { get; } = [];

    /// <summary>The coordinator's own timing lines (RequestWork phases, GC), logged at shutdown.</summary>
    public List<string> TimingLines { get; } = [];

    /// <summary>Starts `serve` with <paramref name="args"/>; every line it prints is also kept in <paramref name="logPath"/> (kept with --keep).</summary>
    public static CoordinatorProcess Start(string[] args, string logPath)
    {
        string apphost = Path.Combine(AppContext.BaseDirectory, "Hivemind.Coordinator");
        var start = File.Exists(apphost)
            ? new ProcessStartInfo(apphost)
            : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Hivemind.Coordinator.dll") } };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        return new CoordinatorProcess(Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}"), logPath);
    }

    /// <summary>The address from its "listening on" line.</summary>
    public Task<string> AddressAsync(TimeSpan timeout) => _address.Task.WaitAsync(timeout);

    /// <summary>VmRSS from /proc/&lt;pid&gt;/status, in bytes (null where /proc is absent).</summary>
    public long? ResidentBytes()
    {
        string path = $"/proc/{_process.Id}/status";
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        return null;
    }

    public string Tail()
    {
        lock (_tail) return string.Join('\n', _tail.TakeLast(20));
    }

    /// <summary>SIGTERM, so the coordinator shuts down as an operator's would; SIGKILL if it does not.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            Posix.Terminate(_process.Id);
            if (!_process.WaitForExit(TimeSpan.FromSeconds(20))) _process.Kill();
        }
        _process.WaitForExit(); // the output handlers are done
        _process.Dispose();
        lock (_tail) _log.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_tail)
        {
            _tail.Add(line);
            _log.WriteLine(line);
            if (_tail.Count > 200) _tail.RemoveRange(0, 100);
        }
        var m = ListeningLine().Match(line);
        if (m.Success) _address.TrySetResult(m.Groups[1].Value);
        if (RoundClosedLine().IsMatch(line))
        {
            lock (CloseTimes) CloseTimes.Add(Stopwatch.GetTimestamp());
            RoundsClosed++;
        }
        if (line.Contains("request-work phase:", StringComparison.Ordinal) || line.Contains(" gc: ", StringComparison.Ordinal) || line.Contains("gc pauses:", StringComparison.Ordinal)
            || line.Contains("thread-pool probe:", StringComparison.Ordinal))
            lock (TimingLines) TimingLines.Add(line);
    }

    [GeneratedRegex(@"listening on (http://\S+);")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"round \d+ closed:")]
    private static partial Regex RoundClosedLine();
}
