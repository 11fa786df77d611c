using Hivemind.Simulations.Calibration;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Simulation;
using Hivemind.Training;

namespace Hivemind.Simulations.Tests;

/// <summary>The faithful simulator's arithmetic for check-timing's transfer-bound case: the real codec's sizes at asymmetric link rates.</summary>
public sealed class TransferBoundPredictionTests
{
    private const double DownMbps = 4;
    private const double UpMbps = 1;
    private const double LatencyMs = 0.2;
    private const double BitsPerByte = 8;
    private const double BitsPerMegabit = 1e6;
    private const double MsPerSecond = 1000;
    private const int Fp32Bytes = 4;
    private const int Fp16Bytes = 2;

    // Tensor names, shapes and the payload header on top of the values: well under 1% for tiny.
    private const double HeaderAllowance = 0.01;

    [Fact]
    public void A_transfer_bound_round_is_the_codecs_bytes_at_the_link_rates_plus_compute_draw_and_close()
    {
        var config = FaithfulFixture.Tiny(volunteers: 2, rounds: 1) with
        {
            // Version 0 would be rebuilt from the seed (no download at all, FaithfulSimulation); this round is about the shard's transfer.
            Engine = FaithfulFixture.Engine(volunteers: 2, rounds: 1) with { SeedDownloads = false },
            DownloadMbps = Distribution.Constant(DownMbps),
            UploadMbps = Distribution.Constant(UpMbps),
            LatencyMs = Distribution.Constant(LatencyMs),
            CoordinatorMbps = 10_000,
        };
        var result = FaithfulSimulation.Run(config);
        var round = Assert.Single(result.Rounds);

        // The coordinator sends the whole fp32 shard (tiny's every parameter here); the volunteer sends its update in the engine's
        // default upload codec, fp16: the sizes come from the real codec, not a bytes-per-parameter guess.
        long parameters = ModelConfig.Preset("tiny").TotalParameters;
        double down = (double)result.BytesDown / result.UnitsLeased, up = (double)result.BytesUp / result.UnitsLeased;
        Assert.InRange(down, Fp32Bytes * parameters, Fp32Bytes * parameters * (1 + HeaderAllowance));
        Assert.InRange(up, Fp16Bytes * parameters, Fp16Bytes * parameters * (1 + HeaderAllowance));

        // Each direction at its own rate (swapping the rates would give 1.7 s more here), one latency each.
        double expected = 2 * LatencyMs / MsPerSecond + down * BitsPerByte / (DownMbps * BitsPerMegabit) + up * BitsPerByte / (UpMbps * BitsPerMegabit);
        Assert.Equal(expected, round.TransferSeconds, 9);
        Assert.True(round.TransferSeconds > 2 * round.ComputeSeconds, $"transfer {round.TransferSeconds} s should dominate compute {round.ComputeSeconds} s");

        // The round: both volunteers wait out the participant draw window, then download, compute, upload; then the close.
        double window = config.Engine.ParticipantDrawWindow.TotalSeconds;
        Assert.Equal(window + round.ComputeSeconds + round.TransferSeconds + round.CloseSeconds, round.RoundSeconds, 2);

        // Real clients poll every 0.5 s into that 2 s window, so check-timing adds no poll delay: the prediction is the round.
        double poll = TimingComparison.ExpectedPollSeconds(2, Coordinator.Rounds.CoordinatorEngine.BusyRetry.TotalSeconds, window);
        Assert.Equal(round.RoundSeconds, TimingComparison.PredictedRoundSeconds(round.RoundSeconds, round.CloseSeconds, poll), 12);
    }
}
