using Hivemind.Simulations.Calibration;

namespace Hivemind.Simulations.Tests;

public sealed class TimingComparisonTests
{
    [Fact]
    public void Core_share_is_one_until_processes_outnumber_cores()
    {
        Assert.Equal(1.0, TimingComparison.CoreShare(1, 2));
        Assert.Equal(1.0, TimingComparison.CoreShare(2, 2));
        Assert.Equal(2.0 / 3, TimingComparison.CoreShare(3, 2), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => TimingComparison.CoreShare(0, 2));

        // Two volunteers and one core's worth of other programs on 2 cores: each runnable thread gets 2/3 of a core.
        Assert.Equal(2.0 / 3, TimingComparison.CoreShare(2, 2, 1.0), 12);
        Assert.Equal(1.0, TimingComparison.CoreShare(1, 2, 0.5));
    }

    [Fact]
    public void Expected_poll_delay_is_the_latest_of_k_minus_one_uniform_phases()
    {
        // One client never waits; two wait half a retry on average for the other; four wait 3/4.
        Assert.Equal(0, TimingComparison.ExpectedPollSeconds(1, 0.5));
        Assert.Equal(0.25, TimingComparison.ExpectedPollSeconds(2, 0.5), 12);
        Assert.Equal(0.375, TimingComparison.ExpectedPollSeconds(4, 0.5), 12);
    }

    [Fact]
    public void A_draw_window_as_long_as_the_poll_interval_absorbs_the_poll_delay()
    {
        // Clients back within the window start with everyone at its end, which the simulation already waits out.
        Assert.Equal(0, TimingComparison.ExpectedPollSeconds(2, 0.5, 2.0));
        Assert.Equal(0, TimingComparison.ExpectedPollSeconds(4, 0.5, 0.5));

        // A window shorter than the poll interval: two clients, window 0.25 of 0.5 s; the late one is back at U ~ U(0, 0.5) and starts
        // at max(U, 0.25), on average 0.25·0.5 + 0.375·0.5 = 0.3125 s, which is 0.0625 s past the window = (r − w)² / 2r.
        Assert.Equal(0.0625, TimingComparison.ExpectedPollSeconds(2, 0.5, 0.25), 12);

        // No window: the first-come formula, (k − 1)/k of the interval.
        Assert.Equal(0.375, TimingComparison.ExpectedPollSeconds(4, 0.5, 0), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => TimingComparison.ExpectedPollSeconds(2, 0.5, -1));
    }

    [Fact]
    public void The_close_overlaps_the_client_poll_interval()
    {
        // Simulated 1.5 s with a 0.1 s close: the real client waits the 0.5 s poll instead → 1.4 + 0.5 = 1.9 s.
        Assert.Equal(1.9, TimingComparison.PredictedRoundSeconds(1.5, 0.1, 0.5), 12);

        // A close longer than the poll interval is the wait itself: 1.5 s stays 1.5 s.
        Assert.Equal(1.5, TimingComparison.PredictedRoundSeconds(1.5, 0.7, 0.5), 12);
    }

    [Fact]
    public void The_check_passes_at_exactly_the_tolerance_and_fails_just_past_it()
    {
        Assert.Equal(0.25, TimingComparison.RelativeError(1.25, 1.0), 12);
        Assert.Equal(0.25, TimingComparison.RelativeError(0.75, 1.0), 12);
        Assert.True(TimingComparison.Within(1.25, 1.0));
        Assert.False(TimingComparison.Within(1.26, 1.0));
        Assert.False(TimingComparison.Within(0.74, 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TimingComparison.RelativeError(1, 0));
    }

    [Fact]
    public void Mean_round_time_skips_the_warm_up_gaps()
    {
        // Closes at 10 (round 1: joins and start-up), 12, 15, 17 s; skipping one warm-up round leaves (17 − 12) / 2 = 2.5 s.
        Assert.Equal(2.5, TimingComparison.MeanRoundSeconds([10, 12, 15, 17], 1), 12);
        Assert.Equal(7.0 / 3, TimingComparison.MeanRoundSeconds([10, 12, 15, 17], 0), 12);
        Assert.Throws<ArgumentException>(() => TimingComparison.MeanRoundSeconds([10, 12], 1));
    }
}
