using Hivemind.Data.Cli;

return CorpusCli.Run(args, Console.Out, Console.Error);
