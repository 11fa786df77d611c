using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>A real Hivemind process (this build's coordinator executable) whose output lines the test can wait for.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _seen = [];

    private ChildProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Push(e.Data);
        _process.ErrorDataReceived += (_, e) => Push(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once the process has exited within <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan timeout) =>
        _process.WaitForExit(timeout) ? _process.ExitCode : throw new TimeoutException($"process {Id} still running after {timeout}");

    /// <summary>Starts <c>Hivemind.Coordinator</c> from the test's output folder with the given arguments.</summary>
    public static ChildProcess Start(params string[] args) => Start(new Dictionary<string, string?>(), args);

    /// <summary>As <see cref="Start(string[])"/>, with <paramref name="environment"/> set (null removes a variable).</summary>
    public static ChildProcess Start(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        string apphost = Path.Combine(AppContext.BaseDirectory, "Hivemind.Coordinator");
        var start = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Hivemind.Coordinator.dll") } };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (name, value) in environment)
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        return new ChildProcess(Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}"));
    }

    /// <summary>Waits for an output line matching <paramref name="pattern"/>; fails with what was awaited and the output so far.</summary>
    public async Task<Match> WaitForAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(cts.Token))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    var m = regex.Match(line);
                    if (m.Success) return m;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        string tail;
        lock (_seen) tail = string.Join("\n", _seen.TakeLast(30));
        throw new TimeoutException($"no output line matched /{pattern}/ within {timeout} (process {(HasExited ? "exited" : "running")}). Last lines:\n{tail}");
    }

    /// <summary>
    /// Waits until the output so far, with all whitespace removed, contains <paramref name="text"/> (whitespace removed too):
    /// for a message that a terminal view wraps over several lines at arbitrary points.
    /// </summary>
    public async Task WaitForTextAsync(string text, TimeSpan timeout)
    {
        string wanted = Squeeze(text);
        var joined = new System.Text.StringBuilder();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(cts.Token))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    joined.Append(Squeeze(line));
                    if (joined.ToString().Contains(wanted, StringComparison.Ordinal)) return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        string tail;
        lock (_seen) tail = string.Join("\n", _seen.TakeLast(30));
        throw new TimeoutException($"the output never contained \"{text}\" within {timeout} (process {(HasExited ? "exited" : "running")}). Last lines:\n{tail}");
    }

    private static string Squeeze(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));

    /// <summary>SIGKILL: no chance to flush or say goodbye.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: false);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }

    private void Push(string? line)
    {
        if (line is null) return;
        lock (_seen) _seen.Add(line);
        _lines.Writer.TryWrite(line);
    }
}
