using Hivemind.Simulations.Faithful;

namespace Hivemind.Simulations.Tests;

/// <summary>
/// Session 7's "memory leak": when the engine rejects an honest update (here the running norm bound at factor 1 rejects every update
/// above the median), it hands the volunteer the same live lease back. Retraining it gives the same bytes and the same verdict, and
/// every attempt (its shard, update and the attacker's decoded copy) was kept until the round closed: tens of thousands per round.
/// Since issue 15's engine fix a refused update ends its unit's lease, so the engine hands nothing back; the virtual volunteer's guard
/// (wait instead of retraining a handed-back unit) stays for a coordinator that would.
/// </summary>
public sealed class RejectedUnitRetryTests
{
    [Fact]
    public void A_rejected_unit_is_not_retrained_and_what_a_round_holds_stays_bounded()
    {
        const int volunteers = 4;
        var config = FaithfulFixture.Tiny(volunteers, rounds: 2).WithEngine(e => e with
        {
            Preset = "micro",
            InnerSteps = 2,
            BatchSize = 2,
            SequenceLength = 16,
            EvalBatches = 1,
            // Every update above the running median of accepted norms is rejected: honest volunteers are refused often.
            NormBoundFactor = 1,
            // Short enough that the unfixed loop (a retrain every ~0.1 virtual s until the lease expires) ends within the test.
            LeaseDuration = TimeSpan.FromMinutes(2),
            MaxLeaseDuration = TimeSpan.FromMinutes(2),
        }) with { Attack = "sign-flip", ByzantineFraction = 0.25 };

        var result = FaithfulSimulation.Run(config);

        Assert.True(result.Rejections.GetValueOrDefault("norm-too-large") > 0, "the setting must make the engine reject honest updates, or this test proves nothing");
        Assert.True(result.RepeatsSkipped == 0, $"the engine handed a refused unit back {result.RepeatsSkipped} time(s); a refusal must end its lease");
        // No unit trained twice (the unfixed loop trained the same unit until its lease expired).
        Assert.Equal(result.DistinctUnitsTrained, result.Trainings);
        // Units in flight (one per volunteer) plus the attacker's one copy per distinct honest unit: never one per attempt.
        Assert.InRange(result.PeakUnitsHeld, 1, volunteers + result.DistinctUnitsTrained);
    }

    [Fact]
    public void A_round_that_can_never_close_ends_the_run_as_stalled_not_as_an_error()
    {
        // An absolute norm bound no update meets: every update is refused, so the round's deadline is extended again and again.
        var config = FaithfulFixture.Tiny(volunteers: 3, rounds: 2).WithEngine(e => e with
        {
            Preset = "micro",
            InnerSteps = 2,
            BatchSize = 2,
            SequenceLength = 16,
            EvalBatches = 1,
            MaxUpdateNorm = 1e-12,
        });

        var result = FaithfulSimulation.Run(config);

        Assert.Equal(0, result.StalledAtRound);
        Assert.Empty(result.Rounds);
        Assert.True(result.UnitsRejected > 0);
    }
}
