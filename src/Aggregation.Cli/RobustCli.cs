using System.CommandLine;

namespace Hivemind.Aggregation.Cli;

/// <summary>The <c>hivemind-robust</c> commands; a thin shell over <see cref="AggregationPipeline"/> and <see cref="AttackFactory"/>.</summary>
public static class RobustCli
{
    /// <summary>Exit code for bad input (spec, file, configuration): the message says what to fix.</summary>
    public const int UsageError = 2;

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given writers; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Byzantine-robust aggregation and attacks on NumPy .npy float32 updates.")
        {
            AggregateCommand(output, error),
            AttackCommand(output, error),
        };
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
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

            NpyFile.Write(parse.GetValue(result)!.FullName, NpyArray.Vector(outcome.Result));
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

            NpyArray honest = NpyFile.Read(parse.GetValue(input)!.FullName);
            float[][] crafted = attack.Craft(honest.RowSlices(), count, new Random(parse.GetValue(seed)));
            NpyFile.Write(parse.GetValue(result)!.FullName, NpyArray.Stack(crafted));
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
    }
}
