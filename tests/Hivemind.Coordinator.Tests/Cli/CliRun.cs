using Hivemind.Coordinator.Hosting;
using Hivemind.Volunteer.CommandLine;
using Microsoft.Extensions.Logging;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>One in-process run of the coordinator executable's entry point, with what it wrote.</summary>
public sealed record CliRun(int ExitCode, string Out, string Error)
{
    /// <summary>Bound on a command that is refused before it opens anything.</summary>
    public static readonly TimeSpan RefusalPatience = TimeSpan.FromSeconds(60);

    public IReadOnlyList<string> ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Runs <c>Hivemind.Coordinator args...</c> (serve, demo, or volunteer ...) to completion.</summary>
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await CoordinatorCli.RunAsync(args, new CliConsole(output, error, HandlesTermination: false)).WaitAsync(RefusalPatience);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    /// <summary>Starts a long-running command (serve) with a log capture; cancel <paramref name="stop"/> to end it.</summary>
    public static (Task<int> Run, StringWriter Error) Start(string[] args, LogCapture log, CancellationToken stop)
    {
        var error = new StringWriter();
        var console = new CliConsole(TextWriter.Null, TextWriter.Synchronized(error), HandlesTermination: false);
        var run = Task.Run(() => CoordinatorCli.RunAsync(args, console, l => l.AddProvider(log), stop));
        return (run, error);
    }
}
