using Hivemind.Aggregation.Attacks;

namespace Hivemind.Aggregation.Tests;

/// <summary>Each attack crafts what its paper says, and the factory parses its spec.</summary>
public sealed class AttackTests
{
    [Fact]
    public void Every_listed_kind_parses_and_crafts_f_vectors_of_the_honest_length()
    {
        float[][] honest = Data.Gaussian(10, 33, seed: 1);
        foreach (string kind in AttackFactory.Kinds)
        {
            float[][] crafted = AttackFactory.Create(kind).Craft(Data.AsMemory(honest), 3, new Random(1));
            Assert.Equal(3, crafted.Length);
            Assert.All(crafted, c => Assert.Equal(33, c.Length));
        }
    }

    [Fact]
    public void Alie_z_follows_baruch_et_al()
    {
        // n=25, f=5: s = floor(25/2 + 1) - 5 = 8, z = Φ⁻¹(17/25) = Φ⁻¹(0.68) ≈ 0.4677 (scipy.stats.norm.ppf).
        Assert.Equal(0.4677, AlieAttack.ZFor(25, 5), 4);

        // n=50, f=24: s = 2, z = Φ⁻¹(0.96) ≈ 1.7507.
        Assert.Equal(1.7507, AlieAttack.ZFor(50, 24), 4);
    }

    [Fact]
    public void Alie_sends_mean_minus_z_std()
    {
        float[][] honest = [[0f, 10f], [2f, 10f], [4f, 10f]];
        float[] crafted = AttackFactory.Create("alie(z=1.5)").Craft(Data.AsMemory(honest), 1, new Random(0))[0];
        Assert.Equal(2f - 1.5f * 2f, crafted[0], 5); // sample std of 0, 2, 4 is 2
        Assert.Equal(10f, crafted[1]);
    }

    [Theory]
    [InlineData("min-max")]
    [InlineData("min-sum")]
    public void Distance_bound_attacks_sit_exactly_on_their_bound(string kind)
    {
        float[][] honest = Data.Gaussian(12, 200, seed: 6);
        float[] byzantine = AttackFactory.Create(kind).Craft(Data.AsMemory(honest), 2, new Random(0))[0];
        double[] pairwise = Reference.SquaredDistances(honest);
        double[] toByzantine = honest.Select(h => h.Select((v, j) => (double)(v - byzantine[j]) * (v - byzantine[j])).Sum()).ToArray();
        double bound = kind == "min-max"
            ? pairwise.Max()
            : Enumerable.Range(0, 12).Max(i => Enumerable.Range(0, 12).Sum(j => pairwise[i * 12 + j]));
        double cost = kind == "min-max" ? toByzantine.Max() : toByzantine.Sum();

        // γ is the largest feasible: the cost is within float rounding of the bound (measured 1e-6 relative).
        Assert.True(DistanceBoundAttack.LastGamma > 0);
        Assert.InRange(cost / bound, 0.999, 1.0001);
    }

    [Fact]
    public void Sign_flip_ipm_scaled_and_mimic_are_what_they_say()
    {
        float[][] honest = [[1f, 2f], [3f, 4f]];
        var memory = Data.AsMemory(honest);
        Assert.Equal([-2f, -3f], AttackFactory.Create("sign-flip").Craft(memory, 1, new Random(0))[0]);
        Assert.Equal([-1f, -1.5f], AttackFactory.Create("ipm(eps=0.5)").Craft(memory, 1, new Random(0))[0]);
        Assert.Equal([-8f, -12f], AttackFactory.Create("scaled(factor=-4)").Craft(memory, 1, new Random(0))[0]);
        Assert.Equal([3f, 4f], AttackFactory.Create("mimic(target=1)").Craft(memory, 1, new Random(0))[0]);
        Assert.All(AttackFactory.Create("nan").Craft(memory, 2, new Random(0)), v => Assert.All(v, x => Assert.True(float.IsNaN(x))));
    }

    [Fact]
    public void Non_finite_attacks_are_rejected_by_the_input_policy()
    {
        float[][] honest = Data.Gaussian(6, 20, seed: 3);
        float[][] byzantine = AttackFactory.Create("inf").Craft(Data.AsMemory(honest), 2, new Random(0));
        AggregationOutcome outcome = AggregationPipeline.Parse("mean").Aggregate(Data.AsMemory(honest.Concat(byzantine)));
        Assert.Equal([6, 7], outcome.Rejected.Select(r => r.Index));
        Assert.All(outcome.Result, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData("alie(q=1)", 6, "unknown parameter \"q\"")]
    [InlineData("sign-flop", 1, "unknown attack")]
    [InlineData("zero | mean", 8, "one kind")]
    [InlineData("gaussian(sigma=0)", 16, "sigma=0 must be > 0")]
    [InlineData("mimic(target=-1)", 14, "target=-1 must be >= 0")]
    public void Bad_attack_specs_point_at_the_token(string spec, int column, string problem)
    {
        var e = Assert.Throws<SpecParseException>(() => AttackFactory.Create(spec));
        Assert.Equal(column, e.Column);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Label_flip_maps_t_to_255_minus_t_and_names_a_bad_target()
    {
        long[] targets = [0, 1, 128, 255];
        LabelFlip.Apply(targets);
        Assert.Equal([255L, 254, 127, 0], targets);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LabelFlip.Apply(new long[] { 3, 256 }));
        Assert.Contains("target 1 is 256", e.Message);
    }
}
