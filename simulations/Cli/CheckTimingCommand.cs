using System.CommandLine;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Rounds;
using Hivemind.Simulations.Calibration;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Cli;

/// <summary>`check-timing`: a real loopback run's round time against the faithful simulator's prediction of the same configuration.</summary>
public static class CheckTimingCommand
{
    /// <summary>Exit code when the prediction misses the measurement by more than the tolerance.</summary>
    public const int OutsideTolerance = 1;

    private const string Preset = "tiny";
    private const int DefaultRounds = 8;
    private const int DefaultInnerSteps = 100;
    private const int DefaultVolunteers = 2;
    private const double DefaultTimeoutMinutes = 15;

    // Round 1 pays joins, JIT and TorchSharp start-up; the first gap after it is skipped too, to measure the steady state.
    private const int WarmupRounds = 1;

    // In-process gRPC over 127.0.0.1: far above any payload rate here, and sub-millisecond round trips.
    private const double LoopbackMbps = 10_000;
    private const double LoopbackLatencyMs = 0.2;
    private const double Percent = 100;

    /// <summary>The command.</summary>
    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "rounds of the real run (the first two are warm-up)", DefaultValueFactory = _ => DefaultRounds };
        var inner = new Option<int>("--inner-steps") { Description = "H per unit (batch and sequence length stay the coordinator's defaults)", DefaultValueFactory = _ => DefaultInnerSteps };
        var volunteers = new Option<int>("--volunteers") { Description = "in-process volunteer clients (the quorum)", DefaultValueFactory = _ => DefaultVolunteers };
        var tolerance = new Option<double>("--tolerance") { Description = "largest accepted |predicted − measured| ÷ measured", DefaultValueFactory = _ => TimingComparison.DefaultTolerance };
        var timeout = new Option<double>("--timeout-minutes") { Description = "give up on the real run after this long", DefaultValueFactory = _ => DefaultTimeoutMinutes };
        var command = new Command("check-timing", "Compare a real loopback run's round time (coordinator + volunteers over gRPC) with the faithful simulator's prediction")
        {
            rounds, inner, volunteers, tolerance, timeout,
        };
        command.SetAction(parse =>
        {
            int r = parse.GetValue(rounds), h = parse.GetValue(inner), v = parse.GetValue(volunteers);
            if (r < WarmupRounds + 2 || h < 1 || v < 1)
            {
                Console.Error.WriteLine($"--rounds {r}, --inner-steps {h}, --volunteers {v}: need rounds >= {WarmupRounds + 2}, inner steps >= 1, volunteers >= 1");
                return RunCommand.ScenarioError;
            }

            return Execute(r, h, v, parse.GetValue(tolerance), TimeSpan.FromMinutes(parse.GetValue(timeout)));
        });
        return command;
    }

    private static int Execute(int rounds, int innerSteps, int volunteers, double tolerance, TimeSpan timeout)
    {
        CoordinatorOptions Options(string dir) => new()
        {
            DataDirectory = dir, Preset = Preset, Quorum = volunteers, MinUpdates = 1, SpareLeases = 0, InnerSteps = innerSteps, MaxRounds = rounds,
            // Spot checks (on by default) pinned off: the timing model it is compared with has no recomputations.
            SpotCheckProbability = 0, SpotCheckProbationProbability = 0,
        };

        double[] load = ReadLoadAverage();
        Console.WriteLine($"(a) real loopback run: {Preset}, {volunteers} volunteers, H={innerSteps}, {rounds} rounds, {Environment.ProcessorCount} cores; load average before: {string.Join(" ", load)}");
        var cpuLoad = CpuLoad.Start();
        var real = LoopbackRun.RunAsync(Options, volunteers, timeout).GetAwaiter().GetResult();
        double background = cpuLoad?.BackgroundBusyCores() ?? 0;
        double measured = TimingComparison.MeanRoundSeconds(real.CloseTimes, WarmupRounds);
        var timed = real.Rounds.Skip(WarmupRounds + 1).ToList();
        Console.WriteLine($"    mean round {measured:F3} s over {timed.Count} rounds; engine aggregation {timed.Average(s => s.AggregationTime.TotalSeconds):F3} s, "
            + $"publish {timed.Average(s => s.PublishTime.TotalSeconds):F3} s per round");

        var defaults = Options("");
        var table = new DeviceTable();
        var cpu = table["cpu"].ForPreset(Preset);
        double share = TimingComparison.CoreShare(volunteers, Environment.ProcessorCount, background);
        var config = new FaithfulConfig
        {
            // The same options object the real host ran with: one settings model for both sides of the check.
            Engine = defaults,
            Volunteers = volunteers,
            DeviceMix = [(cpu with { Utilization = cpu.Utilization * share }, 1)],
            Precision = Precision.Fp32,
            DownloadMbps = Distribution.Constant(LoopbackMbps), UploadMbps = Distribution.Constant(LoopbackMbps),
            LatencyMs = Distribution.Constant(LoopbackLatencyMs),
            CoordinatorMbps = LoopbackMbps, AggregationCores = 1, CoordinatorDevice = cpu,
        };
        Console.WriteLine($"(b) faithful simulation of the same configuration: cpu row {cpu.SustainedFlops(Precision.Fp32) / 1e9:F2} GFLOP/s per training thread "
            + $"× core share {share:F2} ({volunteers} single-thread volunteers on {Environment.ProcessorCount} cores; other programs kept {background:F2} cores busy "
            + $"during (a){(cpuLoad is null ? ": unknown, no /proc" : "")}; an idle machine would give share {TimingComparison.CoreShare(volunteers, Environment.ProcessorCount):F2})");
        var simulated = FaithfulSimulation.Run(config);
        double round = simulated.Rounds.Average(x => x.RoundSeconds);
        double close = simulated.Rounds.Average(x => x.CloseSeconds);
        double poll = TimingComparison.ExpectedPollSeconds(volunteers, CoordinatorEngine.BusyRetry.TotalSeconds);
        double predicted = TimingComparison.PredictedRoundSeconds(round, close, poll);
        Console.WriteLine($"    simulated round {round:F3} s (compute {simulated.Rounds.Average(x => x.ComputeSeconds):F3}, transfer {simulated.Rounds.Average(x => x.TransferSeconds):F4}, "
            + $"close {close:F3}); clients' expected poll delay {poll:F3} s ({volunteers - 1}/{volunteers} of the {CoordinatorEngine.BusyRetry.TotalSeconds:F1} s BusyRetry), overlapping the close → predicted {predicted:F3} s");

        double error = TimingComparison.RelativeError(predicted, measured);
        bool ok = error <= tolerance;
        Console.WriteLine($"predicted {predicted:F3} s vs measured {measured:F3} s per round: error {error * Percent:F1}% ({(ok ? "within" : "OUTSIDE")} {tolerance * Percent:F0}%); "
            + $"load average after: {string.Join(" ", ReadLoadAverage())}");
        return ok ? 0 : OutsideTolerance;
    }

    // The check is only meaningful on an otherwise idle machine; print the load so a reader can tell.
    private static double[] ReadLoadAverage()
    {
        const string path = "/proc/loadavg";
        const int fields = 3;
        if (!File.Exists(path))
        {
            return [];
        }

        return File.ReadAllText(path).Split(' ').Take(fields)
            .Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }
}
