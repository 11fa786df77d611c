using Hivemind.Coordinator.Hosting;
using Hivemind.Volunteer.CommandLine;

return await CoordinatorCli.RunAsync(args, CliConsole.Standard);
