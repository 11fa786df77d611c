using System.CommandLine;

namespace Hivemind.Simulations.Cli;

/// <summary>The simulator's command line: run, list, calibrate, check-timing.</summary>
public static class SimulatorCli
{
    /// <summary>The root command.</summary>
    public static RootCommand Create() => new("Hivemind simulator: virtual time, networks and churn around volunteer training")
    {
        RunCommand.Create(),
        ListCommand.Create(),
        CalibrateCommand.Create(),
        CheckTimingCommand.Create(),
        FiguresCommand.Create(),
    };
}
