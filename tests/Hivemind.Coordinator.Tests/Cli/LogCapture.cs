using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>A log provider that keeps every entry the host's filters let through, and lets a test await one.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly List<Entry> _entries = [];
    private readonly Channel<Entry> _arrivals = Channel.CreateUnbounded<Entry>();

    public sealed record Entry(string Category, LogLevel Level, string Message);

    public IReadOnlyList<Entry> Entries
    {
        get { lock (_entries) return [.. _entries]; }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Waits for an entry whose message matches; fails with what was awaited and what arrived.</summary>
    public async Task<Match> WaitForAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _arrivals.Reader.WaitToReadAsync(cts.Token))
            {
                while (_arrivals.Reader.TryRead(out var entry))
                {
                    var m = regex.Match(entry.Message);
                    if (m.Success) return m;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        throw new TimeoutException($"no log entry matched /{pattern}/ within {timeout}. Entries:\n{string.Join("\n", Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}"))}");
    }

    public void Dispose() => _arrivals.Writer.TryComplete();

    private void Add(Entry entry)
    {
        lock (_entries) _entries.Add(entry);
        _arrivals.Writer.TryWrite(entry);
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(new Entry(category, logLevel, formatter(state, exception)));
    }
}
