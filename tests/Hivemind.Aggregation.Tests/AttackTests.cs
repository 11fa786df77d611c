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

    /// <summary>Honest worker i sends base + c_i·e₀ + small noise: e₀ is the direction of heterogeneity.</summary>
    private static float[][] Heterogeneous(float[] c, int d, int seed)
    {
        float[][] noise = Data.Gaussian(c.Length, d, seed, scale: 0.05f);
        for (int i = 0; i < c.Length; i++)
        {
            for (int j = 0; j < d; j++) noise[i][j] += 0.5f + 0.1f * j;
            noise[i][0] += c[i];
        }

        return noise;
    }

    [Fact]
    public void Mimic_learns_the_direction_of_heterogeneity_then_copies_one_worker_for_good()
    {
        // Karimireddy, He & Jaggi (2022): z is the top eigenvector of the honest covariance (here ±e₀), the target is the
        // worker with the largest ⟨g, z⟩, and after the warm-up the attackers copy that worker, whoever else stands out later.
        float[] c = [-3f, -1f, 0f, 1f, 2f, 4f];
        string[] workers = ["a", "b", "c", "d", "e", "f"];
        var mimic = Assert.IsType<MimicAttack>(AttackFactory.Create("mimic(warmup=3)"));
        Assert.True(mimic.IsAdaptive);
        Assert.Equal("mimic(warmup=3)", mimic.Name);
        Assert.Equal("mimic", AttackFactory.Create("mimic").Name);
        for (int round = 0; round < 3; round++)
        {
            float[][] honest = Heterogeneous(c, 16, seed: round);
            int target = mimic.SelectTarget(Data.AsMemory(honest), workers);
            var z = mimic.Direction!;
            Assert.True(Math.Abs(z[0]) > 0.99, $"round {round}: z·e₀ = {z[0]}");
            // The chosen worker maximises ⟨g, z⟩: an extreme of the heterogeneity axis.
            Assert.Equal(z[0] > 0 ? 5 : 0, target);
            Assert.Equal(round < 2 ? null : workers[target], mimic.FixedWorker);
        }

        string fixedWorker = mimic.FixedWorker!;
        // After the warm-up: the same worker by name, in any order and even when another worker is now further out.
        float[] later = [10f, -10f, 0f, 1f, 2f, 4f];
        float[][] next = Heterogeneous(later, 16, seed: 9);
        int[] order = [3, 5, 0, 4, 1, 2];
        int chosen = mimic.SelectTarget(Data.AsMemory(order.Select(i => next[i])), [.. order.Select(i => workers[i])]);
        Assert.Equal(fixedWorker, workers[order[chosen]]);

        // Craft sends that worker's update, exactly, f times.
        var m2 = MimicAttack.Adaptive(warmup: 1);
        float[][] honest2 = Heterogeneous(c, 16, seed: 4);
        float[][] crafted = m2.Craft(Data.AsMemory(honest2), 3, new Random(0));
        Assert.Equal(3, crafted.Length);
        Assert.All(crafted, v => Assert.Equal(honest2[m2.Direction![0] > 0 ? 5 : 0], v));
    }

    [Fact]
    public void Ipm_turns_the_inner_product_of_the_average_with_the_honest_mean_by_minus_eps()
    {
        // Xie, Koyejo & Gupta (2020): ⟨byzantine, mean⟩ = −ε‖mean‖², so n honest + f IPM updates average to (n − fε)/(n + f)·mean.
        float[][] honest = Data.Gaussian(20, 50, seed: 2, offset: 0.3f);
        float[] mean = Enumerable.Range(0, 50).Select(j => honest.Average(h => h[j])).ToArray();
        float[][] byzantine = AttackFactory.Create("ipm(eps=0.1)").Craft(Data.AsMemory(honest), 5, new Random(0));
        double meanSq = mean.Sum(x => (double)x * x);
        Assert.All(byzantine, b => Assert.Equal(-0.1 * meanSq, b.Select((x, j) => (double)x * mean[j]).Sum(), 3));
        double[] all = Enumerable.Range(0, 50).Select(j => honest.Concat(byzantine).Average(h => (double)h[j])).ToArray();
        Assert.Equal((20 - 5 * 0.1) / 25 * meanSq, all.Select((x, j) => x * mean[j]).Sum(), 3);
    }

    [Fact]
    public void Alie_without_z_takes_baruch_et_al_z_from_n_and_f_and_every_attacker_sends_the_same()
    {
        // n = 25 (20 honest + 5), f = 5: z = Φ⁻¹(17/25) ≈ 0.4677; each coordinate is mean − z·std (sample std).
        float[][] honest = Data.Gaussian(20, 30, seed: 5);
        float[][] byzantine = AttackFactory.Create("alie").Craft(Data.AsMemory(honest), 5, new Random(0));
        for (int j = 0; j < 30; j++)
        {
            double m = honest.Average(h => (double)h[j]);
            double sd = Math.Sqrt(honest.Sum(h => (h[j] - m) * (h[j] - m)) / 19);
            Assert.Equal(m - AlieAttack.ZFor(25, 5) * sd, byzantine[0][j], 4);
        }

        Assert.All(byzantine, b => Assert.Equal(byzantine[0], b));
    }

    [Theory]
    [InlineData("min-max")]
    [InlineData("min-sum")]
    public void Distance_bound_attacks_move_along_minus_std_by_the_largest_feasible_gamma(string kind)
    {
        // Shejwalkar & Houmansadr (2021): m = mean + γ·p with p = −std; γ is the largest that keeps the bound, so 1% more breaks it.
        float[][] honest = Data.Gaussian(15, 40, seed: 8);
        float[] byzantine = AttackFactory.Create(kind).Craft(Data.AsMemory(honest), 1, new Random(0))[0];
        double gamma = DistanceBoundAttack.LastGamma;
        double[] mean = Enumerable.Range(0, 40).Select(j => honest.Average(h => (double)h[j])).ToArray();
        double[] sd = Enumerable.Range(0, 40).Select(j => Math.Sqrt(honest.Sum(h => (h[j] - mean[j]) * (h[j] - mean[j])) / 14)).ToArray();
        for (int j = 0; j < 40; j++) Assert.Equal(mean[j] - gamma * sd[j], byzantine[j], 4);

        double[] pairwise = Reference.SquaredDistances(honest);
        double bound = kind == "min-max"
            ? pairwise.Max()
            : Enumerable.Range(0, 15).Max(i => Enumerable.Range(0, 15).Sum(j => pairwise[i * 15 + j]));
        double Cost(double g)
        {
            double[] d = honest.Select(h => Enumerable.Range(0, 40).Sum(j => Math.Pow(mean[j] - g * sd[j] - h[j], 2))).ToArray();
            return kind == "min-max" ? d.Max() : d.Sum();
        }

        Assert.True(Cost(gamma * 0.99) <= bound);
        Assert.True(Cost(gamma * 1.01) > bound);
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
    [InlineData("mimic(warmup=0)", 14, "warmup=0 must be >= 1")]
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
