namespace Hivemind.Volunteer.CommandLine;

/// <summary>Where a command writes, and whether it owns the process's Ctrl+C (false when a test runs it in-process).</summary>
public sealed record CliConsole(TextWriter Out, TextWriter Error, bool HandlesTermination)
{
    /// <summary>The process's own stdout and stderr, with Ctrl+C handling: what the executables use.</summary>
    public static CliConsole Standard => new(Console.Out, Console.Error, HandlesTermination: true);
}
