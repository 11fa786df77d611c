using System.CommandLine;
using System.Globalization;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Rounds;
using Hivemind.Simulations.Calibration;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Network;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Cli;

/// <summary>
/// `check-timing`: real loopback runs' round times against the faithful simulator's predictions of the same configurations, in a
/// compute-bound case (plain loopback) and a transfer-bound one (every volunteer behind a throttled link).
/// </summary>
public static class CheckTimingCommand
{
    /// <summary>Exit code when a prediction misses its measurement by more than the tolerance.</summary>
    public const int OutsideTolerance = 1;

    /// <summary>Name of the case on plain loopback.</summary>
    public const string ComputeBound = "compute-bound";

    /// <summary>Name of the case behind throttled links.</summary>
    public const string TransferBound = "transfer-bound";

    private const string BothCases = "both";
    private const string Preset = "tiny";
    private const int DefaultRounds = 8;
    private const int DefaultInnerSteps = 100;
    private const int DefaultVolunteers = 2;
    private const double DefaultTimeoutMinutes = 15;

    // The transfer-bound case: a few steps of compute (~0.1 s) against a 4/1 Mb/s home link that needs seconds per unit for tiny's
    // fp32 shard down and fp16 update up, so moving bytes is most of the round.
    private const int DefaultTransferInnerSteps = 10;
    private const double DefaultDownMbps = 4;
    private const double DefaultUpMbps = 1;

    // Round 1 pays joins, JIT and TorchSharp start-up; the first gap after it is skipped too, to measure the steady state.
    private const int WarmupRounds = 1;

    // In-process gRPC over 127.0.0.1: far above any payload rate here, and sub-millisecond round trips. The throttle adds rate, not
    // latency, so the transfer-bound case keeps the loopback's latency.
    private const double LoopbackMbps = 10_000;
    private const double LoopbackLatencyMs = 0.2;
    private const double Percent = 100;
    private const double MsPerSecond = 1000;

    /// <summary>The command.</summary>
    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "rounds of each real run (the first two are warm-up)", DefaultValueFactory = _ => DefaultRounds };
        var inner = new Option<int>("--inner-steps") { Description = "H per unit in the compute-bound case (batch and sequence length stay the coordinator's defaults)", DefaultValueFactory = _ => DefaultInnerSteps };
        var transferInner = new Option<int>("--transfer-inner-steps") { Description = "H per unit in the transfer-bound case", DefaultValueFactory = _ => DefaultTransferInnerSteps };
        var down = new Option<double>("--down-mbps") { Description = "each volunteer's download rate in the transfer-bound case, Mb/s", DefaultValueFactory = _ => DefaultDownMbps };
        var up = new Option<double>("--up-mbps") { Description = "each volunteer's upload rate in the transfer-bound case, Mb/s", DefaultValueFactory = _ => DefaultUpMbps };
        var which = new Option<string>("--case") { Description = $"{ComputeBound}, {TransferBound} or {BothCases}", DefaultValueFactory = _ => BothCases };
        var volunteers = new Option<int>("--volunteers") { Description = "in-process volunteer clients (the quorum)", DefaultValueFactory = _ => DefaultVolunteers };
        var tolerance = new Option<double>("--tolerance") { Description = "largest accepted |predicted − measured| ÷ measured", DefaultValueFactory = _ => TimingComparison.DefaultTolerance };
        var timeout = new Option<double>("--timeout-minutes") { Description = "give up on a real run after this long", DefaultValueFactory = _ => DefaultTimeoutMinutes };
        var command = new Command("check-timing",
            "Compare real loopback runs' round times (coordinator + volunteers over gRPC; compute-bound, and transfer-bound behind throttled links) with the faithful simulator's predictions")
        {
            rounds, inner, transferInner, down, up, which, volunteers, tolerance, timeout,
        };
        command.SetAction(parse =>
        {
            int r = parse.GetValue(rounds), h = parse.GetValue(inner), th = parse.GetValue(transferInner), v = parse.GetValue(volunteers);
            double d = parse.GetValue(down), u = parse.GetValue(up);
            string c = parse.GetValue(which)!;
            if (r < WarmupRounds + 2 || h < 1 || th < 1 || v < 1)
            {
                Console.Error.WriteLine($"--rounds {r}, --inner-steps {h}, --transfer-inner-steps {th}, --volunteers {v}: need rounds >= {WarmupRounds + 2}, inner steps >= 1, volunteers >= 1");
                return RunCommand.ScenarioError;
            }

            if (!(d > 0) || !(u > 0) || double.IsInfinity(d) || double.IsInfinity(u))
            {
                Console.Error.WriteLine($"--down-mbps {d}, --up-mbps {u}: both must be positive, finite rates in Mb/s (e.g. --down-mbps 4 --up-mbps 1)");
                return RunCommand.ScenarioError;
            }

            if (c is not (ComputeBound or TransferBound or BothCases))
            {
                Console.Error.WriteLine($"--case '{c}' is not one of {ComputeBound}, {TransferBound}, {BothCases}");
                return RunCommand.ScenarioError;
            }

            var cases = new List<TimingCase>();
            if (c is ComputeBound or BothCases)
            {
                cases.Add(new TimingCase(ComputeBound, h, null));
            }

            if (c is TransferBound or BothCases)
            {
                cases.Add(new TimingCase(TransferBound, th, new ThrottledLink(d, u)));
            }

            return Execute(cases, r, v, parse.GetValue(tolerance), TimeSpan.FromMinutes(parse.GetValue(timeout)));
        });
        return command;
    }

    private static int Execute(IReadOnlyList<TimingCase> cases, int rounds, int volunteers, double tolerance, TimeSpan timeout)
    {
        var results = new List<TimingCaseResult>();
        foreach (var c in cases)
        {
            results.Add(RunCase(c, rounds, volunteers, timeout));
        }

        Console.WriteLine();
        Console.WriteLine(Table(results, tolerance));
        bool ok = results.All(r => r.Error <= tolerance);
        Console.WriteLine($"{(ok ? "every case within" : "OUTSIDE")} {tolerance * Percent:F0}%; load average after: {string.Join(" ", ReadLoadAverage())}");
        return ok ? 0 : OutsideTolerance;
    }

    private static TimingCaseResult RunCase(TimingCase timingCase, int rounds, int volunteers, TimeSpan timeout)
    {
        CoordinatorOptions Options(string dir) => new()
        {
            DataDirectory = dir, Preset = Preset, Quorum = volunteers, MinUpdates = 1, SpareLeases = 0, InnerSteps = timingCase.InnerSteps, MaxRounds = rounds,
            // Spot checks (on by default) pinned off: the timing model it is compared with has no recomputations.
            SpotCheckProbability = 0, SpotCheckProbationProbability = 0,
        };

        var link = timingCase.Link;
        string linkText = link is null ? "unthrottled loopback" : $"each volunteer behind a {link.DownMbps} Mb/s down / {link.UpMbps} Mb/s up throttled link";
        Console.WriteLine($"[{timingCase.Name}] (a) real run: {Preset}, {volunteers} volunteers, H={timingCase.InnerSteps}, {rounds} rounds, {linkText}, "
            + $"{Environment.ProcessorCount} cores; load average before: {string.Join(" ", ReadLoadAverage())}");
        var cpuLoad = CpuLoad.Start();
        var real = LoopbackRun.RunAsync(Options, volunteers, timeout, link).GetAwaiter().GetResult();
        double busy = cpuLoad?.BackgroundBusyCores() ?? 0;
        bool realTime = CpuLoad.RunsRealTime();

        // Under a real-time policy the others ran only while this process waited (in the transfer-bound case, most of the time).
        double background = realTime ? 0 : busy;
        double measured = TimingComparison.MeanRoundSeconds(real.CloseTimes, WarmupRounds);
        var timed = real.Rounds.Skip(WarmupRounds + 1).ToList();
        int units = rounds * volunteers;
        double measuredBytes = (double)(real.BytesDown + real.BytesUp) / units;
        Console.WriteLine($"    mean round {measured:F3} s over {timed.Count} rounds; engine aggregation {timed.Average(s => s.AggregationTime.TotalSeconds):F3} s, "
            + $"publish {timed.Average(s => s.PublishTime.TotalSeconds):F3} s per round"
            + (link is null ? "" : $"; the links carried {(double)real.BytesDown / units:F0} B down and {(double)real.BytesUp / units:F0} B up per unit"));

        var cpu = new DeviceTable()["cpu"].ForPreset(Preset);
        double share = TimingComparison.CoreShare(volunteers, Environment.ProcessorCount, background);
        var config = new FaithfulConfig
        {
            // The same options object the real host ran with: one settings model for both sides of the check.
            Engine = Options(""),
            Volunteers = volunteers,
            DeviceMix = [(cpu with { Utilization = cpu.Utilization * share }, 1)],
            Precision = Precision.Fp32,
            DownloadMbps = Distribution.Constant(link?.DownMbps ?? LoopbackMbps), UploadMbps = Distribution.Constant(link?.UpMbps ?? LoopbackMbps),
            LatencyMs = Distribution.Constant(LoopbackLatencyMs),
            CoordinatorMbps = LoopbackMbps, AggregationCores = 1, CoordinatorDevice = cpu,
        };
        Console.WriteLine($"    (b) faithful simulation of the same configuration: cpu row {cpu.SustainedFlops(Precision.Fp32) / 1e9:F2} GFLOP/s per training thread "
            + $"× core share {share:F2} ({volunteers} single-thread volunteers on {Environment.ProcessorCount} cores; other programs kept {busy:F2} cores busy "
            + $"during (a){(cpuLoad is null ? ": unknown, no /proc" : "")}{(realTime ? ", only while this real-time process waited, so they take no share" : "")}; "
            + $"an idle machine would give share {TimingComparison.CoreShare(volunteers, Environment.ProcessorCount):F2})");
        var simulated = FaithfulSimulation.Run(config);
        double round = simulated.Rounds.Average(x => x.RoundSeconds);
        double close = simulated.Rounds.Average(x => x.CloseSeconds);
        double compute = simulated.Rounds.Average(x => x.ComputeSeconds);
        double transfer = simulated.Rounds.Average(x => x.TransferSeconds);
        double retry = CoordinatorEngine.BusyRetry.TotalSeconds, window = config.Engine.ParticipantDrawWindow.TotalSeconds;
        double poll = TimingComparison.ExpectedPollSeconds(volunteers, retry, window);
        double predicted = TimingComparison.PredictedRoundSeconds(round, close, poll);
        double modelledBytes = (double)(simulated.BytesDown + simulated.BytesUp) / simulated.UnitsLeased;
        Console.WriteLine($"    simulated round {round:F3} s (compute {compute:F3}, transfer {transfer:F3} for {(double)simulated.BytesDown / simulated.UnitsLeased:F0} B down "
            + $"and {(double)simulated.BytesUp / simulated.UnitsLeased:F0} B up per unit, close {close:F3}); clients' expected poll delay {poll:F3} s "
            + $"(clients polling every {retry:F1} s into a {window:F1} s participant draw window the simulation already waits out), overlapping the close → predicted {predicted:F3} s");
        PrintPhases(real.Units ?? [], link, simulated, compute);
        return new TimingCaseResult(timingCase, volunteers, measured, predicted, compute, transfer, round - compute - transfer - close, close, poll, link is null ? 0 : measuredBytes, modelledBytes);
    }

    /// <summary>The real clients' mean phase times beside the modelled ones, to show which part of a miss comes from where.</summary>
    private static void PrintPhases(IReadOnlyList<UnitTiming> units, ThrottledLink? link, FaithfulResult simulated, double compute)
    {
        if (units.Count == 0)
        {
            return;
        }

        double perUnitDown = (double)simulated.BytesDown / simulated.UnitsLeased, perUnitUp = (double)simulated.BytesUp / simulated.UnitsLeased;
        double down = TransferTime.Seconds(perUnitDown, link?.DownMbps ?? LoopbackMbps, LoopbackLatencyMs / MsPerSecond);
        double up = TransferTime.Seconds(perUnitUp, link?.UpMbps ?? LoopbackMbps, LoopbackLatencyMs / MsPerSecond);
        Console.WriteLine($"    real clients' phases (mean of {units.Count} units after each client's first): download {units.Average(u => u.DownloadSeconds):F3} s "
            + $"(modelled {down:F3}), work {units.Average(u => u.WorkSeconds):F3} s (modelled compute {compute:F3}), upload {units.Average(u => u.UploadSeconds):F3} s (modelled {up:F3})");
    }

    /// <summary>Both cases in one table: measured against predicted, the prediction's parts, and the error.</summary>
    public static string Table(IReadOnlyList<TimingCaseResult> results, double tolerance)
    {
        var table = new MarkdownTable("case", "volunteers", "H", "link down/up Mb/s", "measured s/round", "predicted s/round",
            "compute + transfer + draw + max(close, poll)", "compute / transfer share", "bytes/unit measured vs modelled", "error");
        foreach (var r in results)
        {
            var link = r.Case.Link;
            table.Add(
                r.Case.Name,
                Inv(r.Volunteers),
                Inv(r.Case.InnerSteps),
                link is null ? "loopback" : $"{Inv(link.DownMbps)} / {Inv(link.UpMbps)}",
                r.MeasuredSeconds.ToString("F3", CultureInfo.InvariantCulture),
                r.PredictedSeconds.ToString("F3", CultureInfo.InvariantCulture),
                $"{Inv3(r.ComputeSeconds)} + {Inv3(r.TransferSeconds)} + {Inv3(r.WaitSeconds)} + max({Inv3(r.CloseSeconds)}, {Inv3(r.PollSeconds)})",
                $"{(r.ComputeShare * Percent).ToString("F0", CultureInfo.InvariantCulture)}% / {(r.TransferShare * Percent).ToString("F0", CultureInfo.InvariantCulture)}%",
                link is null ? $"— vs {r.ModelledBytesPerUnit:F0}" : $"{r.MeasuredBytesPerUnit:F0} vs {r.ModelledBytesPerUnit:F0}",
                $"{(r.Error * Percent).ToString("F1", CultureInfo.InvariantCulture)}% ({(r.Error <= tolerance ? "within" : "OUTSIDE")})");
        }

        return table.ToString();
    }

    private static string Inv(double x) => x.ToString(CultureInfo.InvariantCulture);

    private static string Inv3(double x) => x.ToString("F3", CultureInfo.InvariantCulture);

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
            .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
    }
}
