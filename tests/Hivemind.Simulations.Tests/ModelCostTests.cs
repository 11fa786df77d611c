using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Tests;

public sealed class ModelCostTests
{
    [Fact]
    public void Tiny_model_counts_match_hand_computation()
    {
        var cost = new ModelCost(TinyModel.Shape);

        // embedding 16·4 = 64; block: attention 4·16 + norms 4·4 + gate 4·2 = 88; final norm 8.
        Assert.Equal(64, cost.EmbeddingParameters);
        Assert.Equal(160, cost.TrunkParameters);
        // expert: 2·4·8 = 64; total = 160 + 2 experts · 64.
        Assert.Equal(64, cost.ExpertParameters);
        Assert.Equal(288, cost.TotalParameters);
        // active: attention 64 + gate 8 + head 16·4 + one expert 64 = 200.
        Assert.Equal(200, cost.ActiveMatmulParameters);
        // 3 · (2·200 + 2·1·8·4) = 3 · 464.
        Assert.Equal(TinyModel.FlopsPerToken, cost.TrainingFlopsPerToken);
        Assert.Equal(TinyModel.ShardParameters, cost.ShardParameters(1));
    }

    [Fact]
    public void Untied_head_adds_an_embedding_sized_matrix_to_the_trunk_not_to_the_flops()
    {
        var tied = new ModelCost(TinyModel.Shape);
        var untied = new ModelCost(TinyModel.Shape with { TiedEmbeddings = false });

        Assert.Equal(tied.TrunkParameters + 64, untied.TrunkParameters);
        Assert.Equal(tied.TrainingFlopsPerToken, untied.TrainingFlopsPerToken);
    }
}
