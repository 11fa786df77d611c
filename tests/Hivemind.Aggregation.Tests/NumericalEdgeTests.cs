namespace Hivemind.Aggregation.Tests;

/// <summary>
/// Issue 11: every rule under f = 3 attackers of n = 15 (d = 1000) sending huge finite rows (±1e30, 1e18,
/// ±float.MaxValue) or offset rows (honest 1000 ± 0.01, attackers 5× more spread), shuffled among the
/// honest ones. Each case asserts the rule's own bound against the honest reference, named in the
/// message. Before the fix, float Gram partial sums overflowed (krum picked the attacker, geomed gave
/// NaN) and offset rows cancelled (krum picked attackers in 6 of 10 draws).
/// </summary>
public sealed class NumericalEdgeTests
{
    private const int HonestCount = 12;
    private const int F = 3;
    private const int D = 1000;

    /// <summary>Float rounding allowed on a bound: results are float sums of a few floats (measured ≤ 2 ulps).</summary>
    private const int UlpSlack = 8;

    public static TheoryData<string, string> Cases()
    {
        string[] rules =
        [
            "mean", "median", "trimmed-mean(f=3)", "krum(f=3)", "multi-krum(f=3)", "bulyan(f=3)", "geomed",
            "cclip(tau=1,iters=3)", "nnm(f=3) | trimmed-mean(f=3)", "arc(f=3) | median", "clip(tau=1) | mean",
            "bucketing(s=2,seed=1) | median",
        ];
        string[] patterns = ["+1e30", "±1e30", "1e18", "±max", "offset"];
        var data = new TheoryData<string, string>();
        foreach (string rule in rules)
        {
            foreach (string pattern in patterns)
            {
                data.Add(rule, pattern);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Output_stays_within_the_rules_bound_of_the_honest_reference(string spec, string pattern)
    {
        (float[][] all, float[][] honest) = Scenario(pattern);
        float[] result = AggregationPipeline.Parse(spec).Aggregate(Data.AsMemory(all)).Result;
        Assert.All(result, v => Assert.True(float.IsFinite(v), $"{spec} under {pattern}: non-finite output {v}"));
        string context = $"{spec} under {pattern}";
        double[] honestMean = Float64Reference.Mean(honest);
        double scale = Magnitude(honest);
        switch (spec)
        {
            case "mean":
                // Breakdown point 0: no bound to hold. What must hold is the arithmetic: it equals the float64 mean.
                AssertClose(Float64Reference.Mean(all), result, context + ", bound: the float64 mean of all rows", scale);
                break;
            case "median" or "trimmed-mean(f=3)" or "bulyan(f=3)" or "bucketing(s=2,seed=1) | median":
                // With f < n/2 (median), f trimmed (trimmed mean), n ≥ 4f+3 (Bulyan) or ≤ f spoiled of 8 buckets,
                // every coordinate is an average of honest values or honest bucket means.
                AssertInHonestBox(result, honest, context, allowZero: false);
                break;
            case "krum(f=3)":
                // n > 2f+2: the chosen row is an honest one, bit for bit, and the one the float64 Krum picks.
                Assert.True(honest.Any(h => h.SequenceEqual(result)), $"{context}, bound: output is one honest row; it is not");
                Assert.Equal(all[Float64Reference.MultiKrumChoice(all, F, 1)[0]], result);
                break;
            case "multi-krum(f=3)":
                // m = n−f = 12 = the honest count: the chosen set must be exactly the honest rows.
                AssertClose(honestMean, result, context + ", bound: the mean of exactly the honest rows", scale);
                break;
            case "geomed":
            {
                // Minsker 2015, Lemma 2.1: if at most αn points lie farther than r from y (α < 1/2), the geometric
                // median is within C_α·r of y, C_α = (1−α)/√(1−2α). y = honest mean, r = largest honest distance to it;
                // α = (f+½)/n so the lemma's strict and non-strict forms both apply. 1% for the smoothing and tolerance.
                double alpha = (F + 0.5) / all.Length;
                double bound = (1 - alpha) / Math.Sqrt(1 - 2 * alpha) * HonestRadius(honest, honestMean) * 1.01;
                double distance = Float64Reference.Distance(honestMean, result);
                Assert.True(distance <= bound, $"{context}, bound: ‖z − honest mean‖ ≤ C_α·r = {bound:G4}; got {distance:G4}");
                break;
            }

            case "cclip(tau=1,iters=3)":
            {
                // The start (coordinate-wise median) lies in the honest box, and each of the 3 steps moves the centre
                // by at most τ = 1 (a mean of vectors clipped to τ).
                double bound = HonestBoxDiagonal(honest) + 3 * 1.0;
                double distance = Float64Reference.Distance(honestMean, result);
                Assert.True(distance <= bound, $"{context}, bound: ‖v − honest mean‖ ≤ honest box diagonal + iters·τ = {bound:G4}; got {distance:G4}");
                AssertClose(Float64Reference.CenteredClipping(all, 1, 3), result, context + ", and it equals the float64 centered clipping", scale, relative: 1e-5);
                break;
            }

            case "nnm(f=3) | trimmed-mean(f=3)":
            {
                // Each honest row's n−f nearest lie within the honest diameter D of it (the n−f honest rows are
                // candidates), so its mix is within D + r of the honest mean; the trimmed mean keeps each coordinate
                // inside the range of the honest mixes.
                double bound = HonestDiameter(honest) + HonestRadius(honest, honestMean);
                double worst = result.Select((v, j) => Math.Abs(v - honestMean[j])).Max();
                Assert.True(worst <= bound * 1.001, $"{context}, bound: |out_j − honest mean_j| ≤ D + r = {bound:G4}; got {worst:G4}");
                break;
            }

            case "arc(f=3) | median":
                // ARC only shrinks rows towards 0, so honest coordinates stay between 0 and their original value.
                AssertInHonestBox(result, honest, context, allowZero: true);
                break;
            case "clip(tau=1) | mean":
            {
                // Each of the f attackers adds at most τ/n after clipping: ‖out − (1/n)Σ clip(honest)‖ ≤ fτ/n.
                double[] honestPart = new double[D];
                foreach (float[] h in honest)
                {
                    double[] clipped = Float64Reference.Clip(h, 1);
                    for (int j = 0; j < D; j++)
                    {
                        honestPart[j] += clipped[j] / all.Length;
                    }
                }

                double bound = F * 1.0 / all.Length * 1.0001;
                double distance = Float64Reference.Distance(honestPart, result);
                Assert.True(distance <= bound, $"{context}, bound: ‖out − Σclip(honest)/n‖ ≤ fτ/n = {bound:G4}; got {distance:G4}");
                break;
            }

            default:
                throw new InvalidOperationException($"no bound written for {spec}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    public void Krum_multi_krum_bulyan_and_nnm_keep_the_ranking_of_offset_rows_in_every_draw(int draw)
    {
        // The issue's case: rows around 1000 ± 0.01 with two attackers 5× more spread, ten draws.
        const int n = 10;
        const int f = 2;
        float[][] honest = Data.Gaussian(n - f, D, seed: 100 + draw, scale: 0.01f, offset: 1000f);
        float[][] attackers = Data.Gaussian(f, D, seed: 200 + draw, scale: 0.05f, offset: 1000f);
        float[][] all = Data.Shuffled(honest.Concat(attackers).ToArray(), draw);

        float[] krum = AggregationPipeline.Parse("krum(f=2)").Aggregate(Data.AsMemory(all)).Result;
        Assert.Contains(honest, h => h.SequenceEqual(krum));
        Assert.Equal(all[Float64Reference.MultiKrumChoice(all, f, 1)[0]], krum);

        float[] multi = AggregationPipeline.Parse("multi-krum(f=2)").Aggregate(Data.AsMemory(all)).Result;
        AssertClose(Float64Reference.Mean(honest), multi, "multi-krum(f=2): the mean of exactly the honest rows", 1000);

        float[][] mixed = new PreAggregators.NearestNeighborMixing(f).Transform(Data.AsMemory(all)).Select(r => r.ToArray()).ToArray();
        float[][] expected = Float64Reference.NearestNeighbourMixing(all, f);
        for (int i = 0; i < all.Length; i++)
        {
            AssertClose(expected[i].Select(v => (double)v).ToArray(), mixed[i], $"nnm(f=2) row {i}: the float64 mix of the same n−f nearest", 1000);
        }
    }

    [Theory]
    [InlineData("+1e30")]
    [InlineData("1e18")]
    [InlineData("offset")]
    public void Bulyan_equals_the_float64_bulyan(string pattern)
    {
        (float[][] all, float[][] honest) = Scenario(pattern);
        float[] result = AggregationPipeline.Parse("bulyan(f=3)").Aggregate(Data.AsMemory(all)).Result;
        AssertClose(Float64Reference.Bulyan(all, F), result, $"bulyan(f=3) under {pattern}", Magnitude(honest));
    }

    [Theory]
    [InlineData("+1e30")]
    [InlineData("1e18")]
    [InlineData("offset")]
    public void Default_geomed_converges_to_the_float64_geometric_median(string pattern)
    {
        (float[][] all, float[][] honest) = Scenario(pattern);
        var rule = new Aggregators.GeometricMedianAggregator();
        float[] result = rule.Aggregate(Data.AsMemory(all), default);
        Assert.True(rule.LastConverged, $"geomed stopped after {rule.LastIterations} iterations");
        double[] expected = Float64Reference.GeometricMedian(all);

        // Converged to tol = 1e-6 of the median distance: within 1e-4 of the honest radius of the float64 point (float output).
        double radius = HonestRadius(honest, Float64Reference.Mean(honest));
        double distance = Float64Reference.Distance(expected, result);
        Assert.True(distance <= 1e-4 * radius + 16 * MaxUlp(expected) * Math.Sqrt(D), $"geomed under {pattern}: {distance:G4} from the float64 geometric median (honest radius {radius:G4})");
    }

    [Fact]
    public void Geomed_reports_stopping_at_its_iteration_limit()
    {
        (float[][] all, _) = Scenario("+1e30");
        AggregationOutcome outcome = AggregationPipeline.Parse("geomed(iters=1)").Aggregate(Data.AsMemory(all));
        string warning = Assert.Single(outcome.Warnings);
        Assert.Contains("stopped after 1 iterations", warning);
        Assert.Contains("Raise iters", warning);
        Assert.Empty(AggregationPipeline.Parse("geomed").Aggregate(Data.AsMemory(all)).Warnings);
    }

    /// <summary>12 honest rows and 3 attackers of the named pattern, shuffled (seeded) so attackers are not last.</summary>
    internal static (float[][] All, float[][] Honest) Scenario(string pattern)
    {
        bool offset = pattern == "offset";
        float[][] honest = offset
            ? Data.Gaussian(HonestCount, D, seed: 1, scale: 0.01f, offset: 1000f)
            : Data.Gaussian(HonestCount, D, seed: 1);
        float[][] attackers = pattern switch
        {
            "+1e30" => Constant(1e30f),
            "1e18" => Constant(1e18f),
            "±1e30" => Alternating(1e30f),
            "±max" => Alternating(float.MaxValue),
            "offset" => Data.Gaussian(F, D, seed: 2, scale: 0.05f, offset: 1000f),
            _ => throw new ArgumentException($"unknown pattern {pattern}"),
        };
        return (Data.Shuffled(honest.Concat(attackers).ToArray(), 7), honest);

        static float[][] Constant(float value) => Enumerable.Range(0, F).Select(_ => Enumerable.Repeat(value, D).ToArray()).ToArray();

        static float[][] Alternating(float value) =>
            Enumerable.Range(0, F).Select(k => Enumerable.Range(0, D).Select(j => (k + j) % 2 == 0 ? value : -value).ToArray()).ToArray();
    }

    private static void AssertInHonestBox(float[] result, float[][] honest, string context, bool allowZero)
    {
        for (int j = 0; j < result.Length; j++)
        {
            float min = honest.Min(r => r[j]);
            float max = honest.Max(r => r[j]);
            if (allowZero)
            {
                min = Math.Min(min, 0);
                max = Math.Max(max, 0);
            }

            double slack = UlpSlack * Math.Max(Ulp(min), Ulp(max));
            Assert.True(result[j] >= min - slack && result[j] <= max + slack,
                $"{context}, bound: each coordinate within the honest range{(allowZero ? " widened to 0" : "")}; coordinate {j} is {result[j]}, range [{min}, {max}]");
        }
    }

    /// <param name="scale">Magnitude of the values summed (float sums err relative to their terms, not to the result).</param>
    internal static void AssertClose(double[] expected, float[] actual, string context, double scale, double relative = 0)
    {
        for (int j = 0; j < expected.Length; j++)
        {
            double slack = UlpSlack * Math.Max(Ulp((float)scale), Ulp((float)expected[j])) + relative * Math.Abs(expected[j]);
            Assert.True(Math.Abs(actual[j] - expected[j]) <= slack, $"{context}: coordinate {j} is {actual[j]}, float64 reference {expected[j]}");
        }
    }

    internal static double Magnitude(IEnumerable<float[]> rows) => rows.Max(r => r.Max(v => Math.Abs((double)v)));

    private static double Ulp(float value) => MathF.BitIncrement(Math.Abs(value)) - Math.Abs(value);

    private static double MaxUlp(double[] values) => values.Max(v => Ulp((float)v));

    internal static double HonestRadius(float[][] honest, double[] mean) => honest.Max(h => Float64Reference.Distance(mean, h));

    private static double HonestDiameter(float[][] honest) =>
        honest.SelectMany(a => honest.Select(b => Math.Sqrt(Float64Reference.SquaredDistance(a, b)))).Max();

    private static double HonestBoxDiagonal(float[][] honest) =>
        Math.Sqrt(Enumerable.Range(0, honest[0].Length).Sum(j =>
        {
            double range = (double)honest.Max(r => r[j]) - honest.Min(r => r[j]);
            return range * range;
        }));
}
