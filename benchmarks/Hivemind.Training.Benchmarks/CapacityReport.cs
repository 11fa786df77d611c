using Hivemind.Data;
using static TorchSharp.torch;

namespace Hivemind.Training.Benchmarks;

/// <summary>How many assignments a capacity factor drops at initialisation, for the benchmark's report.</summary>
internal static class CapacityReport
{
    public static string Describe(ModelConfig config, int batch, int seq)
    {
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), ModelInit.Initialize(config, 1));
        var data = BatchSources.Open(DataSpec.Synthetic(new SyntheticCorpusConfig(Seed: 1), [0.25, 0.25, 0.25, 0.25], 1));
        var tokens = data.Next(batch, seq).Tokens;
        var inputs = new long[batch * seq];
        for (int r = 0; r < batch; r++) tokens.AsSpan(r * (seq + 1), seq).CopyTo(inputs.AsSpan(r * seq));
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
            model.forward(tensor(inputs, [batch, seq]));
        var dropped = model.DroppedAssignments();
        long assignments = (long)batch * seq * config.TopK;
        return $"capacity factor {config.CapacityFactor}: capacity {config.ExpertCapacity((long)batch * seq)} assignments per expert; " +
               $"dropped at initialisation per layer [{string.Join(", ", dropped)}] of {assignments} ({dropped.Sum() / (double)(assignments * config.Layers):P1}).";
    }
}
