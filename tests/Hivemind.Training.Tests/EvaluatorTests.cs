namespace Hivemind.Training.Tests;

/// <summary>Evaluation of a shard routes only to its experts; untrained models score near the uniform loss.</summary>
public sealed class EvaluatorTests
{
    private const int Batches = 2, BatchSize = 4, SeqLen = 32;

    [Fact]
    public void ShardEvaluationCountsOnlyHeldExpertsAndStartsNearUniform()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny");
        var shard = new ShardSpec([new(0, 0), new(0, 1), new(1, 2), new(1, 3)]);
        var eval = Evaluator.Evaluate(config, ModelInit.Initialize(config, 2, shard), TestData.HeldOut(2), Batches, BatchSize, SeqLen, optimum: null);
        Assert.Null(eval.GapToOptimum);
        Assert.Equal([0, 0], [eval.ExpertLoad[0][2], eval.ExpertLoad[0][3]]);
        Assert.Equal([0, 0], [eval.ExpertLoad[1][0], eval.ExpertLoad[1][1]]);
        Assert.Equal((long)Batches * BatchSize * SeqLen * config.TopK, eval.ExpertLoad[1].Sum());
        // Initial logits are near zero, so the loss is near ln 256 = 5.545 (measured 5.568).
        Assert.InRange(eval.Loss, Math.Log(256) - 0.05, Math.Log(256) + 0.05);
    }

    [Fact]
    public void DenseModelHasNoExpertLoad()
    {
        TestTorch.Use();
        var dense = ModelConfig.Preset("tiny").AsDense();
        var eval = Evaluator.Evaluate(dense, ModelInit.Initialize(dense, 2), TestData.HeldOut(2), Batches, BatchSize, SeqLen, optimum: TestData.Optimum(SeqLen));
        Assert.All(eval.ExpertLoad, layer => Assert.Empty(layer));
        Assert.Equal(eval.Loss - TestData.Optimum(SeqLen), eval.GapToOptimum!.Value, 12);
    }
}
