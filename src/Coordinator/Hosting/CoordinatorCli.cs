using System.CommandLine;
using Hivemind.Coordinator.Demo;
using Hivemind.Volunteer;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Hosting;

/// <summary>The coordinator executable's commands (<c>serve</c>, <c>demo</c>, <c>audit</c>, <c>export-ledger</c>, <c>verify-evidence</c>, <c>calibrate-checks</c>, and <c>volunteer</c> for the demo's child processes), runnable in-process.</summary>
public static class CoordinatorCli
{
    /// <summary>First argument that makes this executable act as a volunteer (the demo and tests start volunteers this way).</summary>
    public const string VolunteerVerb = "volunteer";

    public static Task<int> RunAsync(string[] args, CliConsole console, Action<ILoggingBuilder>? logging = null, CancellationToken ct = default)
    {
        if (args.Length > 0 && args[0] == VolunteerVerb)
            return VolunteerProgram.RunAsync(args[1..], console, ct);
        var root = new RootCommand("Hivemind coordinator: trains one MoE model on volunteers' computers.")
        {
            ServeCommand.Create(console, logging),
            DemoCommand.Create(console),
            AuditCommand.Create(console),
            AuditCommand.CreateExport(console),
            SpotChecks.VerifyEvidenceCommand.Create(console),
            SpotChecks.CalibrateChecksCommand.Create(console),
        };
        return CommandLineRunner.RunAsync(root, args, console, ct);
    }
}
