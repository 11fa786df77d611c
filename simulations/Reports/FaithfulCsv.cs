using Hivemind.Simulations.Faithful;

namespace Hivemind.Simulations.Reports;

/// <summary>The CSV files of a faithful report: per-round losses and timings, one row per run, and measured wall times.</summary>
public static class FaithfulCsv
{
    /// <summary>One row per round of every run.</summary>
    public static CsvTable Rounds(FaithfulOutcome o)
    {
        var axes = AxisNames(o);
        var csv = new CsvTable(RoundsHeader(axes));
        foreach (var run in o.Runs)
        {
            AddRounds(csv, run, axes);
        }

        return csv;
    }

    /// <summary>The columns of rounds.csv for runs with <paramref name="axes"/>.</summary>
    public static string[] RoundsHeader(IReadOnlyList<string> axes) =>
        [.. axes, "round", "updates", "train_loss", "eval_loss", "gap", "round_s", "compute_s", "transfer_s", "wait_s", "close_s"];

    /// <summary>Adds <paramref name="run"/>'s rounds to <paramref name="csv"/>.</summary>
    public static void AddRounds(CsvTable csv, FaithfulRun run, IReadOnlyList<string> axes)
    {
        foreach (var r in run.Result.Rounds)
        {
            csv.Add([.. axes.Select(a => run[a]), r.Round.ToString(), r.Updates.ToString(), Num.Csv(r.TrainLoss), Num.Csv(r.EvalLoss),
                Num.Csv(r.EvalLoss - run.Result.OptimalLoss), Num.Csv(r.RoundSeconds), Num.Csv(r.ComputeSeconds), Num.Csv(r.TransferSeconds),
                Num.Csv(r.WaitSeconds), Num.Csv(r.CloseSeconds)]);
        }
    }

    /// <summary>One row per run.</summary>
    public static CsvTable Runs(FaithfulOutcome o)
    {
        var axes = AxisNames(o);
        var csv = new CsvTable(RunsHeader(axes));
        foreach (var run in o.Runs)
        {
            AddRun(csv, run, axes);
        }

        return csv;
    }

    /// <summary>The columns of runs.csv for runs with <paramref name="axes"/>.</summary>
    public static string[] RunsHeader(IReadOnlyList<string> axes) =>
        [.. axes, "rounds", "initial_loss", "final_loss", "optimal_loss", "final_gap", "virtual_s", "mean_round_s",
            "bytes_down", "bytes_up", "units_leased", "units_accepted", "units_rejected", "units_lost_to_churn", "banned", "mean_holders_per_expert", "late_accepted", "max_lag", "stale_rejected",
            "banned_byzantine", "repeats_skipped", "stalled_at_round"];

    /// <summary>Adds <paramref name="run"/>'s row to <paramref name="csv"/>.</summary>
    public static void AddRun(CsvTable csv, FaithfulRun run, IReadOnlyList<string> axes)
    {
        var r = run.Result;
        csv.Add([.. axes.Select(a => run[a]), r.Rounds.Count.ToString(), Num.Csv(r.InitialLoss), Num.Csv(r.FinalLoss), Num.Csv(r.OptimalLoss),
            Num.Csv(r.FinalGap), Num.Csv(r.VirtualSeconds), Num.Csv(r.MeanRoundSeconds), r.BytesDown.ToString(), r.BytesUp.ToString(),
            r.UnitsLeased.ToString(), r.UnitsAccepted.ToString(), r.UnitsRejected.ToString(), r.UnitsLostToChurn.ToString(),
            r.BannedVolunteers.ToString(), Num.Csv(r.MeanHoldersPerExpert), r.LateAccepted.ToString(), r.MaxLag.ToString(), r.StaleRejected.ToString(),
            r.BannedByzantine.ToString(), r.RepeatsSkipped.ToString(), r.StalledAtRound?.ToString() ?? ""]);
    }

    /// <summary>Measured wall-clock times (differ run to run, so kept out of report.md and the other CSVs).</summary>
    public static CsvTable WallTimes(FaithfulOutcome o)
    {
        var axes = AxisNames(o);
        var csv = new CsvTable([.. axes, "training_wall_s", "mean_aggregation_wall_ms"]);
        foreach (var run in o.Runs)
        {
            var r = run.Result;
            double ms = r.Rounds.Count == 0 ? double.NaN : r.Rounds.Average(x => x.AggregationWallSeconds) * 1e3;
            csv.Add([.. axes.Select(a => run[a]), Num.Csv(r.TrainingWallSeconds), Num.Csv(ms)]);
        }

        return csv;
    }

    /// <summary>The axis names of the outcome's runs, in order.</summary>
    public static string[] AxisNames(FaithfulOutcome o) => o.Runs.Count == 0 ? [] : [.. o.Runs[0].Axes.Select(a => a.Axis)];
}
