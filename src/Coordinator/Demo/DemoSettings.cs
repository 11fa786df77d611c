namespace Hivemind.Coordinator.Demo;

/// <summary>What the demo runs: how many volunteer processes, rounds, which model and rule.</summary>
public sealed record DemoSettings(int Volunteers, int Rounds, string Preset, string DataDirectory, string Byzantine, string Rule, int CorpusOrder)
{
    /// <summary>The demo's dashboard port; 0 takes any free port (the URL is printed at start).</summary>
    public int DashboardPort { get; init; } // dashboard hook (issue 14)

    public static DemoSettings Default { get; } = new(3, 20, "small", Path.Combine(Path.GetTempPath(), "hivemind-demo"), "", "mean", 1);
}
