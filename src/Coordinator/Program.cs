using Hivemind.Coordinator.Hosting;
using Hivemind.Volunteer.CommandLine;

// A volunteer started through this executable (the demo's children) trains, so it gets glibc's allocator tuned for
// libtorch like hivemind-volunteer; the coordinator's own commands keep glibc's defaults (its many server threads
// would share one arena).
if (args.Length > 0 && args[0] == CoordinatorCli.VolunteerVerb && Hivemind.Training.Allocator.MallocRelaunch.RelaunchOrExitCode() is int exitCode)
    return exitCode;
return await CoordinatorCli.RunAsync(args, CliConsole.Standard);
