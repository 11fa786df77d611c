using System.CommandLine;
using System.CommandLine.Help;

namespace Hivemind.Volunteer.CommandLine;

/// <summary>
/// Runs a command tree so that every user error is one line on stderr (<c>error: ...</c>) and a non-zero exit:
/// unknown flags get a did-you-mean, bad values the message of the <see cref="UsageException"/> that refused them.
/// </summary>
public static class CommandLineRunner
{
    /// <summary>Exit code of a refused command line (as the volunteer's <c>ExitCodes.BadArguments</c>).</summary>
    public const int UsageExitCode = 2;

    /// <summary>Exit code of a command that failed for another reason than its arguments.</summary>
    public const int FaultExitCode = 1;

    /// <summary>A flag this close (edits) to an unknown one is offered as the likely meant one.</summary>
    private const int MaxSuggestionDistance = 3;

    public static async Task<int> RunAsync(RootCommand root, IReadOnlyList<string> args, CliConsole console, CancellationToken ct = default)
    {
        var parse = root.Parse(args);
        bool help = parse.Action is HelpAction;
        if (parse.Errors.Count > 0 && !help)
        {
            console.Error.WriteLine($"error: {Explain(parse)}");
            return UsageExitCode;
        }
        var invocation = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            EnableDefaultExceptionHandler = false,
        };
        if (!console.HandlesTermination) invocation.ProcessTerminationTimeout = null;
        try
        {
            return await parse.InvokeAsync(invocation, ct);
        }
        catch (UsageException e)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return UsageExitCode;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not a bad value but a fault: keep the trace for the bug report, and exit with an ordinary failure, not an abort.
            console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
            console.Error.WriteLine(e);
            return FaultExitCode;
        }
    }

    /// <summary>The first parse error as one line: what was wrong, and where the list of flags is.</summary>
    private static string Explain(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        string path = CommandPath(parse);
        string hint = $"run '{path} --help' for every option";
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            if (!token.StartsWith('-'))
            {
                var commands = command.Subcommands.Select(c => c.Name).ToList();
                return commands.Count > 0
                    ? $"unknown command '{token}'{Suggest(token, commands)} (the commands are {string.Join(", ", commands)}; {hint})."
                    : $"unexpected argument '{token}' ({hint}).";
            }
            var names = command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).ToList();
            return $"unknown option '{token}'{Suggest(token, names)} ({hint}).";
        }
        return $"{parse.Errors[0].Message.TrimEnd('.')} ({hint}).";
    }

    private static string CommandPath(ParseResult parse)
    {
        var parts = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            if (r.Parent is not null) parts.Add(r.Command.Name);
        }
        parts.Reverse();
        return parts.Count == 0 ? parse.RootCommandResult.Command.Name : string.Join(' ', parts);
    }

    private static string Suggest(string token, IEnumerable<string> candidates)
    {
        var best = candidates
            .Select(c => (Name: c, Distance: Distance(token, c)))
            .Where(c => c.Distance <= MaxSuggestionDistance || c.Name.StartsWith(token, StringComparison.Ordinal))
            .OrderBy(c => c.Distance)
            .FirstOrDefault();
        return best.Name is null ? "" : $"; did you mean '{best.Name}'?";
    }

    /// <summary>Levenshtein distance (flags are short, so the quadratic table is cheap).</summary>
    private static int Distance(string a, string b)
    {
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) row[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
