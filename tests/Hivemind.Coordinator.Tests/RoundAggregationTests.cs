using Hivemind.Coordinator.Reputation;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Rounds.Closing;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Tests;

/// <summary>The round close as a pure function: its arithmetic, its skips, its reputation deltas, and that it changes none of its inputs.</summary>
public sealed class RoundAggregationTests
{
    private const string TrunkName = "embed.weight";
    private static readonly string ExpertA = ParameterNames.Expert(new ExpertId(0, 0), "w");
    private static readonly string ExpertB = ParameterNames.Expert(new ExpertId(0, 1), "w");

    // Plain SGD with learning rate 1: the new parameters are the old ones minus the aggregate, so every expectation is exact arithmetic.
    private const double UnitLearningRate = 1.0;

    private static ParameterSet Global() => new([
        new NamedTensor(TrunkName, [2], [10f, 10f]),
        new NamedTensor(ExpertA, [1], [5f]),
        new NamedTensor(ExpertB, [1], [7f]),
    ]);

    private static RoundModelState State() =>
        new(Global(), new OuterOptimizer(UnitLearningRate, 0), new Dictionary<string, float[]> { [TensorGroups.Trunk] = [] });

    private static RoundRules Rules(string rule = "median", int minHolders = 3) => new(rule, rule, Replication: 3, MinExpertHolders: minHolders);

    private static RoundInput Update(string id, int unit, float trunk, float? expertA = null, float? expertB = null, bool probation = false)
    {
        var payload = new ParameterSet([new NamedTensor(TrunkName, [2], [trunk, trunk])]);
        if (expertA is { } a) payload.Add(new NamedTensor(ExpertA, [1], [a]));
        if (expertB is { } b) payload.Add(new NamedTensor(ExpertB, [1], [b]));
        return new RoundInput(id, Version: 0, unit, payload, Weight: 1024, Loss: 2.0 + unit, TrunkNorm: Math.Sqrt(2) * Math.Abs(trunk), OnProbation: probation);
    }

    [Fact]
    public void TheMedianStepIgnoresOneHugeUpdateAndTheOutlierEarnsNothing()
    {
        var current = State();
        var groups = new TensorGroups(current.Global);
        var decision = RoundAggregation.Decide(groups, current, [Update("a", 0, 1f), Update("b", 1, 2f), Update("evil", 2, 1000f)], Rules());

        Assert.Equal([8f, 8f], decision.Next.Global[TrunkName].Values); // 10 − median(1, 2, 1000)
        Assert.Equal(ReputationBook.Reward, decision.ReputationDeltas["a"]);
        Assert.Equal(ReputationBook.Reward, decision.ReputationDeltas["b"]);
        Assert.Equal(0, decision.ReputationDeltas["evil"]);
        Assert.Equal(3.0, decision.TrainLoss, 12); // equal weights: mean of 2, 3, 4
    }

    [Fact]
    public void AZeroUpdateEarnsNoReputation()
    {
        var current = State();
        var decision = RoundAggregation.Decide(new TensorGroups(current.Global), current,
            [Update("a", 0, 1f), Update("b", 1, 1.5f), Update("c", 2, 2f), Update("free-rider", 3, 0f)], Rules());

        Assert.Equal(0, decision.ReputationDeltas["free-rider"]);
        Assert.Equal(ReputationBook.Reward, decision.ReputationDeltas["c"]);
    }

    [Fact]
    public void AnExpertGroupBelowTheMinimumHoldersIsSkippedAndLeftUnchanged()
    {
        var current = State();
        var updates = new[]
        {
            Update("a", 0, 1f, expertA: 1f, expertB: 1f),
            Update("b", 1, 1f, expertA: 2f, expertB: 3f),
            Update("c", 2, 1f, expertA: 3f),
        };
        var decision = RoundAggregation.Decide(new TensorGroups(current.Global), current, updates, Rules());

        Assert.Equal([3f], decision.Next.Global[ExpertA].Values); // 5 − median(1, 2, 3)
        Assert.Equal([7f], decision.Next.Global[ExpertB].Values); // two holders of three needed: unchanged
        var skipped = Assert.Single(decision.Groups, g => !g.Updated);
        Assert.Equal(TensorGroups.ExpertKey(new ExpertId(0, 1)), skipped.Key);
        Assert.Equal(2, skipped.Holders);
        Assert.Equal(["expert.0.1 (2 of 3 holders)"], decision.SkippedGroups);
        Assert.Equal(1, decision.UnderReplicatedGroups);
    }

    [Fact]
    public void NoInputIsChanged()
    {
        var current = new RoundModelState(Global(), new OuterOptimizer(UnitLearningRate, 0.9),
            new Dictionary<string, float[]> { [TensorGroups.Trunk] = [] });
        byte[] outerBefore = current.Outer.SaveState();
        var updates = new[] { Update("a", 0, 1f), Update("b", 1, 2f), Update("c", 2, 3f) };
        var rules = new RoundRules("cclip(tau=10, beta=0.5)", "median", 3, 3);

        var decision = RoundAggregation.Decide(new TensorGroups(current.Global), current, updates, rules);

        Assert.Equal([10f, 10f], current.Global[TrunkName].Values);
        Assert.Equal(outerBefore, current.Outer.SaveState());
        Assert.Empty(current.AggregatorStates[TensorGroups.Trunk]);
        Assert.Equal([1f, 1f], updates[0].Payload[TrunkName].Values);
        // The decision carries the new state instead: a moved model, a stepped optimizer and centred clipping's new centre.
        Assert.NotEqual(10f, decision.Next.Global[TrunkName].Values[0]);
        Assert.Equal(1, decision.Next.Outer.Steps);
        Assert.Equal(2, decision.Next.AggregatorStates[TensorGroups.Trunk].Length);
    }

    [Fact]
    public void ArrivalOrderDoesNotChangeTheResult()
    {
        var updates = new[] { Update("a", 0, 0.1f), Update("b", 1, 0.2f), Update("c", 2, 0.3f), Update("d", 3, 0.7f) };
        var current = State();
        var groups = new TensorGroups(current.Global);
        var inOrder = RoundAggregation.Decide(groups, current, updates, Rules("mean"));
        var reversed = RoundAggregation.Decide(groups, current, [.. updates.Reverse()], Rules("mean"));

        Assert.Equal(inOrder.Next.Global[TrunkName].Values, reversed.Next.Global[TrunkName].Values);
    }

    [Fact]
    public void AStepTheModelCannotTakeThrowsAndChangesNothing()
    {
        var current = State();
        var bad = new RoundInput("a", 0, 0, new ParameterSet([new NamedTensor(TrunkName, [2], [float.NaN, float.NaN])]), 1024, 2, 1);

        // "mean" passes a NaN through; the outer optimizer refuses it before touching any tensor.
        Assert.ThrowsAny<Exception>(() => RoundAggregation.Decide(new TensorGroups(current.Global), current, [bad], Rules("mean", minHolders: 1)));
        Assert.Equal([10f, 10f], current.Global[TrunkName].Values);
        Assert.Equal(0, current.Outer.Steps);
    }

    [Fact]
    public void KeysOnProbationGetABoundedShareOfAnExpertGroupWithEstablishedHolders()
    {
        var current = State();
        // Two established holders of expert A, three fresh keys that all hold it and push it far: one probation slot per group.
        var updates = new[]
        {
            Update("a", 0, 1f, expertA: 1f),
            Update("b", 1, 1f, expertA: 2f),
            Update("p1", 2, 1f, expertA: 100f, probation: true),
            Update("p2", 3, 1f, expertA: 100f, probation: true),
            Update("p3", 4, 1f, expertA: 100f, probation: true),
        };
        var rules = Rules() with { ProbationSlots = 1 };
        var decision = RoundAggregation.Decide(new TensorGroups(current.Global), current, updates, rules);

        Assert.Equal([3f], decision.Next.Global[ExpertA].Values); // 5 − median(1, 2, 100): without the bound, median(1, 2, 100, 100, 100) = 100
        Assert.Equal(2, Assert.Single(decision.Groups, g => g.Key == TensorGroups.ExpertKey(new ExpertId(0, 0))).ProbationLeftOut);
        Assert.Equal(5, Assert.Single(decision.Groups, g => g.Key == TensorGroups.Trunk).Holders); // the trunk keeps every input

        // A group held only by new keys (a new crowd, before anyone is established) keeps all of them.
        var fresh = updates.Select(u => u with { OnProbation = true }).ToArray();
        var bootstrap = RoundAggregation.Decide(new TensorGroups(current.Global), current, fresh, rules);
        Assert.Equal([-95f], bootstrap.Next.Global[ExpertA].Values);
        Assert.All(bootstrap.Groups, g => Assert.Equal(0, g.ProbationLeftOut));
    }
}
