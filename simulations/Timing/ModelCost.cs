namespace Hivemind.Simulations.Timing;

/// <summary>Parameter counts and training FLOPs of a <see cref="ModelShape"/>, trunk and experts apart.</summary>
public sealed class ModelCost
{
    // Kaplan et al. 2020, "Scaling Laws for Neural Language Models", Table 1: a forward pass costs
    // 2 FLOPs per matmul parameter plus 2·n_layer·n_ctx·d_attn for attention; backward costs twice
    // the forward, so training is 3× forward.
    private const double ForwardFlopsPerParameter = 2.0;
    private const double TrainingOverForward = 3.0;

    // Attention: Q, K, V and output projections, each d×d.
    private const int AttentionMatrices = 4;

    // Two layer norms per block, weight and bias each.
    private const int NormVectorsPerBlock = 4;

    // One expert: up projection d×h and down projection h×d.
    private const int ExpertMatrices = 2;

    /// <summary>Counts the parameters and FLOPs of <paramref name="shape"/>.</summary>
    public ModelCost(ModelShape shape)
    {
        Shape = shape;
        long d = shape.DModel;
        long layers = shape.Layers;
        EmbeddingParameters = (long)shape.Vocab * d;
        long head = shape.TiedEmbeddings ? 0 : EmbeddingParameters;
        long perBlockTrunk = AttentionMatrices * d * d + NormVectorsPerBlock * d + d * shape.Experts;
        long finalNorm = 2 * d;
        TrunkParameters = EmbeddingParameters + head + layers * perBlockTrunk + finalNorm;
        ExpertParameters = ExpertMatrices * d * shape.ExpertHidden;
        ExpertParametersAllLayers = layers * ExpertParameters;
        TotalParameters = TrunkParameters + ExpertParametersAllLayers * shape.Experts;

        // The input embedding is a lookup, not a matmul; the head is a matmul whether tied or not.
        long headMatmul = (long)shape.Vocab * d;
        ActiveMatmulParameters = layers * (AttentionMatrices * d * d + d * shape.Experts)
            + headMatmul + layers * shape.TopK * ExpertParameters;
        double attention = ForwardFlopsPerParameter * layers * shape.ContextLength * d;
        TrainingFlopsPerToken = TrainingOverForward * (ForwardFlopsPerParameter * ActiveMatmulParameters + attention);
    }

    /// <summary>The shape counted.</summary>
    public ModelShape Shape { get; }

    /// <summary>Input embedding parameters (vocab × d).</summary>
    public long EmbeddingParameters { get; }

    /// <summary>Everything but the experts: embeddings, attention, norms, gates, head.</summary>
    public long TrunkParameters { get; }

    /// <summary>One expert of one layer.</summary>
    public long ExpertParameters { get; }

    /// <summary>One expert index across all layers (a shard holds expert indices in every layer).</summary>
    public long ExpertParametersAllLayers { get; }

    /// <summary>Trunk plus all experts.</summary>
    public long TotalParameters { get; }

    /// <summary>Matmul parameters a token passes through (top-k experts only).</summary>
    public long ActiveMatmulParameters { get; }

    /// <summary>Forward + backward FLOPs per trained token: 6 × active params + 6·L·T·d.</summary>
    public double TrainingFlopsPerToken { get; }

    /// <summary>Parameters of a shard: the trunk plus <paramref name="expertsPerShard"/> experts in every layer.</summary>
    public long ShardParameters(int expertsPerShard) => TrunkParameters + expertsPerShard * ExpertParametersAllLayers;
}
