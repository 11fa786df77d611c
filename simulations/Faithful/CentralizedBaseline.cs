using Hivemind.Coordinator.Rounds;
using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Simulations.Faithful;

/// <summary>Trains the whole model (MoE or its dense twin) in one place with the real LocalTrainer, on the engine's corpus and held-out data.</summary>
public static class CentralizedBaseline
{
    // Slice seed of the centralized trainer's data stream, apart from every work unit's (those mix round and unit index).
    private const long CentralSliceSeed = 0xCE47A1;

    /// <summary>
    /// Trains <paramref name="steps"/> AdamW steps of <paramref name="batchSize"/> sequences from the engine's θ_0 (dense: same seed)
    /// with the engine's inner hyper-parameters and evaluates on the engine's held-out batches.
    /// </summary>
    public static CentralizedResult Train(FaithfulConfig config, bool dense, int steps, int batchSize)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        var options = FaithfulSimulation.Options(config, Path.GetTempPath());
        var moe = ModelConfig.Preset(config.Engine.Preset);
        var model = dense ? moe.AsDense() : moe;
        var units = new WorkUnitFactory(options, moe);
        var corpus = new SyntheticCorpusConfig(config.Seed, Order: options.CorpusOrder);
        var mix = DomainMix.Uniform(BatchSources.Corpus(corpus).Domains);
        var start = ModelInit.Initialize(model, config.Seed);
        var training = units.TrainingOptions(CentralSliceSeed) with { InnerSteps = steps, BatchSize = batchSize };
        var result = LocalTrainer.Train(model, start, ShardSpec.Full(model), BatchSources.Open(DataSpec.Synthetic(corpus, mix, CentralSliceSeed)), training);
        var end = new ParameterSet();
        foreach (var t in start)
        {
            var delta = result.PseudoGradient[t.Name].Values;
            var values = new float[delta.Length];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = t.Values[i] - delta[i];
            }

            end.Add(new NamedTensor(t.Name, t.Shape, values));
        }

        var eval = Evaluator.Evaluate(model, end, BatchSources.Open(units.HeldOut()), options.EvalBatches, options.BatchSize, options.SequenceLength, units.OptimalLoss);
        return new CentralizedResult(dense ? "centralized dense" : "centralized MoE", model.TotalParameters, model.ActiveParametersPerToken,
            steps, batchSize, result.Tokens, eval.Loss, units.OptimalLoss);
    }
}
