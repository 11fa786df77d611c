using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>Scores parameters on held-out batches, without gradients.</summary>
public static class Evaluator
{
    /// <summary>Evaluates the whole model (or a shard: its router is masked to the experts present in <paramref name="parameters"/>).</summary>
    public static EvaluationResult Evaluate(ModelConfig config, ParameterSet parameters, IBatchSource heldOut, int batches,
        int batchSize, int seqLen, double? optimum)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(heldOut);
        if (batches < 1) throw new ArgumentOutOfRangeException(nameof(batches), batches, "evaluate at least 1 batch.");
        TorchRuntime.EnsureLoaded();
        var shard = ShardOf(config, parameters);
        using var model = MoeTransformer.Create(config, shard, parameters);
        model.eval();
        var domainSum = new Dictionary<int, double>();
        var domainRows = new Dictionary<int, int>();
        double sum = 0;
        long tokens = 0;
        using var noGrad = no_grad();
        for (int i = 0; i < batches; i++)
        {
            var batch = heldOut.Next(batchSize, seqLen);
            var (inputs, targets) = BatchTensors.Split(batch);
            using var scope = NewDisposeScope();
            var hidden = model.ForwardHidden(BatchTensors.Inputs(inputs, batchSize, seqLen)).Hidden;
            var perToken = ChunkedCrossEntropy.PerRowLoss(hidden.reshape(-1, config.Width), model.HeadWeight, tensor(targets));
            var perRow = perToken.view(batchSize, seqLen).to_type(ScalarType.Float64).mean([1]).data<double>().ToArray();
            for (int r = 0; r < batchSize; r++)
            {
                int d = batch.Domains[r];
                domainSum[d] = domainSum.GetValueOrDefault(d) + perRow[r];
                domainRows[d] = domainRows.GetValueOrDefault(d) + 1;
                sum += perRow[r] * seqLen;
            }
            tokens += (long)batchSize * seqLen;
        }
        double loss = sum / tokens;
        var perDomain = domainSum.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key, kv => kv.Value / domainRows[kv.Key]);
        return new EvaluationResult(loss, loss / Math.Log(2), optimum is { } o ? loss - o : null, perDomain, model.ExpertLoad(), tokens);
    }

    /// <summary>The shard whose tensors <paramref name="parameters"/> holds.</summary>
    public static ShardSpec ShardOf(ModelConfig config, ParameterSet parameters)
    {
        var experts = new SortedSet<ExpertId>();
        foreach (var name in parameters.Names)
            if (ParameterNames.TryParseExpert(name, out var id)) experts.Add(id);
        return new ShardSpec([.. experts]);
    }
}
