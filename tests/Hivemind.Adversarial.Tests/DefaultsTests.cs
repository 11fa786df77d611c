using Hivemind.Aggregation;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Tensors;
using Hivemind.Volunteer.Behaviors;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 9: the defaults are robust at the default quorum; one attacker among honest volunteers stays inside the honest range.</summary>
public sealed class DefaultsTests
{
    [Fact]
    public void DefaultRulesAreRobustAndTheNormBoundFollowsHonestNorms()
    {
        var defaults = new CoordinatorOptions();
        Assert.NotEqual("mean", defaults.TrunkRule);
        Assert.NotEqual("mean", defaults.ExpertRule);
        Assert.True(defaults.MinExpertHolders >= 3);
        Assert.True(defaults.NormBoundFactor > 0);
        // At the default quorum, one huge input cannot move any coordinate outside the honest inputs' range.
        var honest = new[] { new float[] { 1, 2, 3 }, new float[] { 2, 1, 4 } };
        var attack = new float[] { 1e6f, -1e6f, 1e6f };
        Assert.Equal(3, defaults.Quorum);
        var result = AggregationPipeline.Parse(defaults.TrunkRule).Aggregate([honest[0], honest[1], attack]).Result;
        for (int i = 0; i < result.Length; i++)
            Assert.InRange(result[i], Math.Min(honest[0][i], honest[1][i]), Math.Max(honest[0][i], honest[1][i]));
    }

    [Theory]
    [InlineData(Behavior.SignFlip)]
    [InlineData(Behavior.FreeRide)]
    public void OneAttackerAmongThreeHonestCannotMoveTheStepOutsideTheHonestRange(Behavior attack)
    {
        // Default rules; tiny model for speed; the attacker asks first. One spare unit: the third honest volunteer takes it when the
        // attacker's update is refused (a refusal ends the attacker's lease; its slot is reissued).
        using var h = new EngineHarness(o => o with { Quorum = 3, SpareLeases = 1 });
        var attacker = h.Join();
        var honest = new[] { h.Join(), h.Join(), h.Join() };
        var before = h.Engine.GlobalParameters();
        var attackerUnit = attacker.Lease();
        var honestDeltas = new List<ParameterSet>();
        foreach (var v in honest.Take(2))
        {
            var update = v.Train(v.Lease());
            honestDeltas.Add(TensorCodec.Decode(update.Payload, update.Payload.LongLength).Tensors);
            v.Submit(update);
        }
        try
        {
            attacker.Submit(attacker.Train(attackerUnit, attack));
        }
        catch (Protocol.Errors.ProtocolException)
        {
            // Refused outright (a zero update): the third honest volunteer fills the round.
            honestDeltas.Add(Decode(honest[2].Train(honest[2].Lease()), out var update));
            honest[2].Submit(update);
        }
        Assert.NotNull(h.Engine.Tick());
        var after = h.Engine.GlobalParameters();
        // First outer step from zero momentum (Nesterov SGD): θ1 = θ0 − lr (1 + μ) · aggregate.
        double scale = h.Options.OuterLearningRate * (1 + h.Options.OuterMomentum);
        foreach (var t in after.Where(t => TensorGroups.KeyOf(t.Name) == TensorGroups.Trunk))
        {
            var b = before[t.Name].Values;
            for (int i = 0; i < t.Values.Length; i++)
            {
                double aggregate = (b[i] - t.Values[i]) / scale;
                double lo = honestDeltas.Min(d => d[t.Name].Values[i]), hi = honestDeltas.Max(d => d[t.Name].Values[i]);
                double slack = 1e-3 * Math.Max(1e-3, hi - lo) + 1e-6; // float rounding of the step
                Assert.InRange(aggregate, lo - slack, hi + slack);
            }
        }
    }

    private static ParameterSet Decode(Volunteer.Work.TrainedUpdate update, out Volunteer.Work.TrainedUpdate same)
    {
        same = update;
        return TensorCodec.Decode(update.Payload, update.Payload.LongLength).Tensors;
    }
}
