using Hivemind.Simulations.Scale;
using Hivemind.Simulations.Simulation;

namespace Hivemind.Simulations.Tests;

public sealed class ScaleSimulationTests
{
    private const int Precision = 9;

    // The mean's constant in use (the shipped aggregation-costs.json) × (trunk 160 elements × 4 inputs + 2 experts × 64 elements
    // × 2 inputs each), on the config's one core.
    private static readonly double Aggregation =
        (160 * 4 + 128 * 2) * Calibration.CalibrationFiles.Aggregation[Timing.AggregationRule.Mean].NanosecondsPerElementInput * 1e-9;

    [Fact]
    public void One_round_of_four_equal_volunteers_matches_hand_computation()
    {
        var result = ScaleSimulation.Run(TinyModel.Config(4));

        var round = Assert.Single(result.Rounds);
        double total = TinyModel.UnitSeconds + Aggregation;
        Assert.Equal(CloseReason.Quorum, round.Reason);
        Assert.Equal(TinyModel.UnitSeconds, round.CloseSeconds, Precision);
        Assert.Equal(Aggregation, round.AggregationSeconds, 15);
        Assert.Equal(total, result.TotalSeconds, Precision);
        Assert.Equal(4, round.Accepted);
        Assert.Equal(4e4, result.Tokens);
        // 4 units × (896 bytes down + 896 up) over 40,000 tokens.
        Assert.Equal(0.1792, result.BytesPerToken, 12);
        Assert.Equal(4e4 / total, result.TokensPerSecond, Precision);
        Assert.Equal(TinyModel.ComputeSeconds / total, result.ComputeShare, Precision);
        Assert.Equal(2 * TinyModel.TransferSeconds / total, result.TransferShare, Precision);
        Assert.Equal(0, result.WaitShare, Precision);
        Assert.Equal(TinyModel.ComputeSeconds / total, result.ComputeUtilization, Precision);
    }

    [Fact]
    public void Rounds_follow_each_other_after_aggregation()
    {
        var result = ScaleSimulation.Run(TinyModel.Config(4) with { Rounds = 3 });

        Assert.Equal(3, result.Rounds.Count);
        Assert.Equal(2 * (TinyModel.UnitSeconds + Aggregation), result.Rounds[2].OpenSeconds, Precision);
        Assert.Equal(3 * (TinyModel.UnitSeconds + Aggregation), result.TotalSeconds, Precision);
    }

    // One of four volunteers is 4× slower: its unit takes 0.996 + 4·13.92 + 0.996 = 57.672 s.
    private static ScaleConfig WithOneStraggler(double quorum, double deadline) =>
        TinyModel.Config(4) with { StragglerFraction = 0.25, StragglerSlowdown = 4, Quorum = quorum, DeadlineSeconds = deadline };

    private const double StragglerUnitSeconds = 2 * TinyModel.TransferSeconds + 4 * TinyModel.ComputeSeconds;

    [Fact]
    public void Quorum_below_one_closes_without_the_straggler()
    {
        var round = Assert.Single(ScaleSimulation.Run(WithOneStraggler(0.75, 1000)).Rounds);

        Assert.Equal(CloseReason.Quorum, round.Reason);
        Assert.Equal(TinyModel.UnitSeconds, round.CloseSeconds, Precision);
        Assert.Equal(3, round.Accepted);
        Assert.Equal(1, round.Abandoned);
    }

    [Fact]
    public void A_coordinator_whose_memory_holds_two_decoded_updates_closes_a_round_of_four_at_two()
    {
        var unbounded = TinyModel.Config(4) with { Rounds = 2 };
        var bounded = unbounded with { CoordinatorMemoryBytes = unbounded.ResidentModelBytes + 2.5 * unbounded.DecodedUpdateBytes };

        var a = ScaleSimulation.Run(unbounded);
        var b = ScaleSimulation.Run(bounded);

        Assert.Equal(int.MaxValue, unbounded.UpdatesInMemory);
        Assert.Equal(0, a.MemoryBoundRounds);
        Assert.Equal(unbounded.ResidentModelBytes + 4 * unbounded.DecodedUpdateBytes, a.PeakCoordinatorMemoryBytes, Precision);
        Assert.Equal(2, bounded.UpdatesInMemory);
        Assert.Equal(2, b.MemoryBoundRounds);
        Assert.All(b.Rounds, r => Assert.Equal(2, r.Accepted));
        Assert.All(b.Rounds, r => Assert.Equal(2, r.Abandoned));
        Assert.Equal(a.Tokens / 2, b.Tokens, Precision);
        Assert.Equal(bounded.ResidentModelBytes + 2 * bounded.DecodedUpdateBytes, b.PeakCoordinatorMemoryBytes, Precision);
        // fp32 decoded: 4 bytes per shard element; resident: the model and its outer momentum.
        Assert.Equal(4.0 * unbounded.ShardElements, unbounded.DecodedUpdateBytes);
        Assert.Equal(8.0 * unbounded.Model.TotalParameters, unbounded.ResidentModelBytes);
    }

    [Fact]
    public void Full_quorum_waits_for_the_straggler_when_the_deadline_allows()
    {
        var round = Assert.Single(ScaleSimulation.Run(WithOneStraggler(1, 100)).Rounds);

        Assert.Equal(CloseReason.Quorum, round.Reason);
        Assert.Equal(StragglerUnitSeconds, round.CloseSeconds, Precision);
        Assert.Equal(4, round.Accepted);
        // The three fast volunteers each waited for the straggler.
        Assert.True(round.MeanWaitSeconds > 0);
    }

    [Fact]
    public void Full_quorum_with_a_short_deadline_closes_at_the_deadline()
    {
        var round = Assert.Single(ScaleSimulation.Run(WithOneStraggler(1, 30)).Rounds);

        Assert.Equal(CloseReason.Deadline, round.Reason);
        Assert.Equal(30, round.CloseSeconds, Precision);
        Assert.Equal(3, round.Accepted);
        Assert.Equal(1, round.Abandoned);
    }

    // Units of about an hour on uneven links, so sessions of a few hours lose some of them.
    private static ScaleConfig HourLongUnits(Distribution? sessions) => TinyModel.Config(50) with
    {
        DeviceMix = [(TinyModel.Slow with { PeakBf16Tflops = 3.867e-9 }, 1.0)],
        DownloadMbps = Distribution.LogNormal(0.008, 1),
        UploadMbps = Distribution.LogNormal(0.008, 1),
        SessionHours = sessions,
        OfflineHours = Distribution.Exponential(0.1),
        Rounds = 20,
        Quorum = 0.9,
        DeadlineSeconds = 4 * 3600,
        Seed = 3,
    };

    [Fact]
    public void More_churn_loses_more_units_trains_fewer_tokens_and_lengthens_rounds()
    {
        var none = ScaleSimulation.Run(HourLongUnits(null));
        var low = ScaleSimulation.Run(HourLongUnits(Distribution.Exponential(1000)));
        var high = ScaleSimulation.Run(HourLongUnits(Distribution.Exponential(2)));

        Assert.Equal(0, none.UnitsLostToChurn);
        Assert.True(high.UnitsLostToChurn > low.UnitsLostToChurn, $"lost: high churn {high.UnitsLostToChurn}, low {low.UnitsLostToChurn}");
        Assert.True(high.UnitsAccepted < low.UnitsAccepted, $"accepted: high churn {high.UnitsAccepted}, low {low.UnitsAccepted}");
        Assert.True(high.TokensPerSecond < low.TokensPerSecond);
        Assert.True(high.MeanRoundSeconds > low.MeanRoundSeconds, $"round s: high churn {high.MeanRoundSeconds}, low {low.MeanRoundSeconds}");
    }

    [Fact]
    public void Coordinator_link_shared_by_many_volunteers_slows_transfers()
    {
        var alone = ScaleSimulation.Run(TinyModel.Config(4) with { CoordinatorMbps = 0.032 });
        var shared = ScaleSimulation.Run(TinyModel.Config(8) with { CoordinatorMbps = 0.032 });

        // 0.032 Mb/s over 4 volunteers is exactly their own 0.008 Mb/s; over 8 it halves: 0.1 + 1.792 s per transfer.
        Assert.Equal(TinyModel.UnitSeconds, alone.Rounds[0].CloseSeconds, Precision);
        Assert.Equal(2 * 1.892 + TinyModel.ComputeSeconds, shared.Rounds[0].CloseSeconds, Precision);
    }

    [Fact]
    public void Same_seed_same_result_other_seed_other_result()
    {
        var a = ScaleSimulation.Run(HourLongUnits(Distribution.Exponential(2)));
        var b = ScaleSimulation.Run(HourLongUnits(Distribution.Exponential(2)));
        var c = ScaleSimulation.Run(HourLongUnits(Distribution.Exponential(2)) with { Seed = 4 });

        Assert.Equal(a.Rounds, b.Rounds);
        Assert.NotEqual(a.TotalSeconds, c.TotalSeconds);
    }
}
