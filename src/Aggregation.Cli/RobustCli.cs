using System.CommandLine;

namespace Hivemind.Aggregation.Cli;

/// <summary>The <c>hivemind-robust</c> commands; a thin shell over <see cref="AggregationPipeline"/> and <see cref="AttackFactory"/>.</summary>
public static class RobustCli
{
    /// <summary>Exit code for bad input (spec, file, configuration, arguments): the one <c>error:</c> line says what to fix.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a fault in this program rather than in its input: one <c>error:</c> line asking for a report, no stack trace.</summary>
    public const int InternalError = 1;

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given writers; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Byzantine-robust aggregation and attacks on NumPy .npy float32 updates.")
        {
            AggregateCommand(output, error),
            AttackCommand(output, error),
        };
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // System.CommandLine would print every error plus the help text and exit 1; one line and exit 2 instead.
            string help = parsed.CommandResult.Command is RootCommand ? "hivemind-robust --help" : $"hivemind-robust {parsed.CommandResult.Command.Name} --help";
            error.WriteLine($"error: {OneLine(parsed.Errors[0].Message)} Run '{help}' for the options.");
            return UsageError;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static Command AggregateCommand(TextWriter output, TextWriter error)
    {
        var rule = new Option<string>("--rule") { Description = "Pipeline spec, e.g. \"nnm(f=2) | trimmed-mean(f=2)\".", Required = true };
        var input = new Option<FileInfo>("--in") { Description = "Updates: float32 .npy of shape (n, d).", Required = true };
        var result = new Option<FileInfo>("--out") { Description = "Aggregate: float32 .npy of shape (d,).", Required = true };
        var command = new Command("aggregate", "Aggregate a stack of updates with a robust rule.") { rule, input, result };
        command.SetAction(parse => Guarded(error, () =>
        {
            AggregationPipeline pipeline = AggregationPipeline.Parse(parse.GetValue(rule)!);
            string outPath = OutputPath.Check(parse.GetValue(result)!, "--out");
            string inPath = parse.GetValue(input)!.FullName;
            NpyArray updates = NpyFile.Read(inPath);
            if (updates.IsVector)
            {
                throw new NpyFormatException(inPath, $"shape ({updates.Columns},) is one vector; aggregate needs a stack of shape (n, d).");
            }

            AggregationOutcome outcome = pipeline.Aggregate(updates.RowSlices());
            foreach (InputRejection rejection in outcome.Rejected)
            {
                error.WriteLine($"{inPath}: row {rejection.Index} rejected: {rejection.Reason}");
            }

            foreach (string warning in outcome.Warnings)
            {
                error.WriteLine($"warning: {warning}");
            }

            NpyFile.Write(outPath, NpyArray.Vector(outcome.Result));
            output.WriteLine($"{pipeline.Spec}: aggregated {updates.Rows - outcome.Rejected.Count} of {updates.Rows} updates of length {updates.Columns}");
        }));
        return command;
    }

    private static Command AttackCommand(TextWriter output, TextWriter error)
    {
        var kind = new Option<string>("--kind") { Description = "Attack spec: " + string.Join(", ", AttackFactory.Kinds), Required = true };
        var f = new Option<int>("--f") { Description = "Number of Byzantine updates to craft.", Required = true };
        var input = new Option<FileInfo>("--in") { Description = "Honest updates: float32 .npy of shape (n, d).", Required = true };
        var result = new Option<FileInfo>("--out") { Description = "Byzantine updates: float32 .npy of shape (f, d).", Required = true };
        var seed = new Option<int>("--seed") { Description = "Seed for randomised attacks.", DefaultValueFactory = _ => 0 };
        var command = new Command("attack", "Craft f Byzantine updates from the honest ones (omniscient attacker).") { kind, f, input, result, seed };
        command.SetAction(parse => Guarded(error, () =>
        {
            IAttack attack = AttackFactory.Create(parse.GetValue(kind)!);
            int count = parse.GetValue(f);
            if (count < 1)
            {
                throw new ArgumentException($"--f {count}: the number of Byzantine updates must be >= 1.");
            }

            string outPath = OutputPath.Check(parse.GetValue(result)!, "--out");
            NpyArray honest = NpyFile.Read(parse.GetValue(input)!.FullName);
            float[][] crafted = attack.Craft(honest.RowSlices(), count, new Random(parse.GetValue(seed)));
            NpyFile.Write(outPath, NpyArray.Stack(crafted));
            output.WriteLine($"{attack.Name}: crafted {count} updates of length {honest.Columns} from {honest.Rows} honest ones");
        }));
        return command;
    }

    private static int Guarded(TextWriter error, Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (Exception e) when (e is SpecParseException or NpyFormatException or AggregationConfigException or AggregationInputException or ArgumentException)
        {
            error.WriteLine($"error: {e.Message}");
            return UsageError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The environment, not the input: a full disk, a permission, a path that vanished mid-run.
            error.WriteLine($"error: {OneLine(e.Message)} Check the path, its permissions and the free disk space.");
            return UsageError;
        }
        catch (OutOfMemoryException)
        {
            error.WriteLine("error: not enough memory for these updates; aggregate fewer or shorter updates at a time.");
            return UsageError;
        }
        catch (Exception e)
        {
            error.WriteLine($"error: internal error ({e.GetType().Name}: {OneLine(e.Message)}); this is a bug in hivemind-robust, please report it with the command line.");
            return InternalError;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
