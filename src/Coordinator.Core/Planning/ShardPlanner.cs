using Hivemind.Training;

namespace Hivemind.Coordinator.Planning;

/// <summary>
/// Decides which experts a volunteer trains. The volunteer cannot choose: it declares its memory,
/// the planner sizes the shard to fit and fills the least-covered experts first (random tie-break),
/// so that within a round every expert gathers <c>replication</c> holders as early as possible.
/// </summary>
public sealed class ShardPlanner
{
    /// <summary>Bytes of training state per parameter: fp32 weights, gradients and AdamW's two moments.</summary>
    public const int TrainingBytesPerParameter = 16;

    /// <summary>Fixed allowance for activations, libtorch and the process itself.</summary>
    public const long OverheadBytes = 256L << 20;

    private readonly ModelConfig _model;
    private readonly long _trunkParameters;
    private readonly long _expertParameters;

    public ShardPlanner(ModelConfig model, long trunkParameters, long expertParameters)
    {
        _model = model;
        _trunkParameters = trunkParameters;
        _expertParameters = expertParameters;
    }

    /// <summary>Memory a shard with <paramref name="expertsPerLayer"/> experts in each layer needs to train.</summary>
    public long MemoryNeeded(int expertsPerLayer) =>
        OverheadBytes + TrainingBytesPerParameter * (_trunkParameters + (long)_model.Layers * expertsPerLayer * _expertParameters);

    /// <summary>The most experts per layer that fit in <paramref name="memoryBytes"/>; at least top-k, at most all.</summary>
    public int ExpertsPerLayerFor(long memoryBytes)
    {
        int k = _model.Experts;
        while (k > _model.TopK && MemoryNeeded(k) > memoryBytes) k--;
        if (MemoryNeeded(k) > memoryBytes)
            throw new ArgumentException(
                $"a volunteer declaring {memoryBytes / (1 << 20)} MiB cannot train the smallest shard of the '{_model.Name}' model " +
                $"(trunk + {_model.TopK} experts per layer needs {MemoryNeeded(k) / (1 << 20)} MiB). Declare more --memory or use a device with more memory.");
        return k;
    }

    /// <summary>
    /// Chooses the shard: per layer, the k least-covered experts, ties broken by <paramref name="rng"/>; k is what the memory allows,
    /// at most <paramref name="maxExpertsPerLayer"/> (0 = no cap) and never below top-k.
    /// </summary>
    public ShardSpec Plan(long memoryBytes, IReadOnlyDictionary<ExpertId, int> coverage, Random rng, int maxExpertsPerLayer = 0)
    {
        int k = ExpertsPerLayerFor(memoryBytes);
        if (maxExpertsPerLayer > 0) k = Math.Max(_model.TopK, Math.Min(k, maxExpertsPerLayer));
        var chosen = new List<ExpertId>(k * _model.Layers);
        for (int layer = 0; layer < _model.Layers; layer++)
        {
            var order = Enumerable.Range(0, _model.Experts)
                .Select(e => (Id: new ExpertId(layer, e), Cover: coverage.GetValueOrDefault(new ExpertId(layer, e)), Tie: rng.Next()))
                .OrderBy(x => x.Cover).ThenBy(x => x.Tie)
                .Take(k)
                .Select(x => x.Id)
                .OrderBy(x => x.Expert);
            chosen.AddRange(order);
        }
        return new ShardSpec(chosen);
    }
}
