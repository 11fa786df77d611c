using Xunit.Abstractions;

namespace Hivemind.Aggregation.Tests;

/// <summary>
/// n = 25 workers, f = 5 Byzantine, logistic regression trained by robust SGD. Under attack the
/// mean fails while NNM + trimmed mean and centered clipping hold. Margins are measured below.
/// </summary>
public sealed class RobustnessExperimentTests(ITestOutputHelper output)
{
    private const int N = 25;
    private const int F = 5;
    private const int Steps = 150;
    private const int Batch = 8;
    private const float LearningRate = 0.5f;

    private static readonly LogisticRegressionProblem Problem = new(N - F, seed: 42);

    private const string NnmTrimmedMean = "nnm(f=5) | trimmed-mean(f=5)";
    private const string NnmCenteredClipping = "nnm(f=5) | cclip(tau=0.1,iters=3)";
    private const string CenteredClipping = "cclip(tau=0.1,iters=3)";

    /// <summary>Clean run: the mean with 25 honest gradients; test loss measured 0.3307 (85.1 % accuracy).</summary>
    private static readonly Lazy<double> CleanLoss = new(() => Train("mean", attack: null).Loss);

    [Theory]
    [InlineData("scaled(factor=-10)")] // boosted sign flip: measured mean 12.75, nnm+tm 0.3303, nnm+cclip 0.3312, cclip 0.3436
    [InlineData("alie(z=5)")] // measured mean 5.607, nnm+tm 0.3300, nnm+cclip 0.3327, cclip 0.3701
    public void Mean_fails_and_robust_pipelines_hold(string attack)
    {
        double clean = CleanLoss.Value;
        double mean = Report(attack, "mean");

        // The mean's loss is 15x to 38x the clean loss (loss of the zero model is ln 2 = 0.693).
        Assert.True(mean > 1.0, $"mean under {attack}: loss {mean:F4}, clean {clean:F4}");

        // NNM in front: within 0.003 of the clean loss (measured); 0.01 allowed.
        Assert.True(Report(attack, NnmTrimmedMean) < clean + 0.01);
        Assert.True(Report(attack, NnmCenteredClipping) < clean + 0.01);

        // Centered clipping alone bounds each attacker's pull by tau/n per iteration: measured +0.013 and +0.039.
        Assert.True(Report(attack, CenteredClipping) < clean + 0.06);
    }

    [Theory]
    [InlineData("sign-flip")] // measured mean 0.3328, nnm+tm 0.3303
    [InlineData("alie")] // z = 0.468 for n=25, f=5; measured mean 0.3354, nnm+tm 0.3393, nnm+cclip 0.3382
    public void Unboosted_sign_flip_and_alie_with_the_papers_z_only_dent_every_rule(string attack)
    {
        // -mean from 5 of 25 only shrinks the mean's step to 0.6x, and ALIE's small z is built to hide
        // inside robust rules, not to break the mean: neither moves any rule by more than 0.01 here.
        double clean = CleanLoss.Value;
        Assert.True(Report(attack, "mean") < clean + 0.01);
        Assert.True(Report(attack, NnmTrimmedMean) < clean + 0.015);
        Assert.True(Report(attack, NnmCenteredClipping) < clean + 0.015);
    }

    private double Report(string attack, string spec)
    {
        (double loss, double accuracy) = Train(spec, attack);
        output.WriteLine($"{attack} vs {spec}: test loss {loss:F4} (clean {CleanLoss.Value:F4}), accuracy {accuracy:P1}");
        return loss;
    }

    private static (double Loss, double Accuracy) Train(string spec, string? attack)
    {
        var random = new Random(7);
        AggregationPipeline pipeline = AggregationPipeline.Parse(spec);
        IAttack? adversary = attack is null ? null : AttackFactory.Create(attack);
        var w = new float[LogisticRegressionProblem.Features + 1];
        for (int step = 0; step < Steps; step++)
        {
            var updates = new List<ReadOnlyMemory<float>>(N);
            for (int worker = 0; worker < Problem.Workers; worker++)
            {
                updates.Add(Problem.Gradient(worker, w, Batch, random));
            }

            if (adversary is not null)
            {
                updates.AddRange(adversary.Craft(updates, F, random).Select(b => (ReadOnlyMemory<float>)b));
            }
            else
            {
                // Without an attack the same n inputs arrive: five more honest gradients.
                for (int k = 0; k < F; k++)
                {
                    updates.Add(Problem.Gradient(k, w, Batch, random));
                }
            }

            float[] g = pipeline.Aggregate(updates).Result;
            for (int k = 0; k < w.Length; k++)
            {
                w[k] -= LearningRate * g[k];
            }
        }

        return Problem.Evaluate(w);
    }
}
