using Hivemind.Aggregation.Cli;

return RobustCli.Run(args, Console.Out, Console.Error);
