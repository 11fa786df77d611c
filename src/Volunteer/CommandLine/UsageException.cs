namespace Hivemind.Volunteer.CommandLine;

/// <summary>
/// A bad value on the command line (or in a file it names): the message names the value and the fix, and the command
/// prints it as one line and exits with <see cref="CommandLineRunner.UsageExitCode"/> instead of a stack trace.
/// </summary>
public sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);
