using Hivemind.Coordinator.Rounds;
using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Demo;

/// <summary>
/// The sharded run's control (doubt 1 of GPT-Neo's FAQ, on real text): the same trainer (LocalTrainer, the units' AdamW settings) on
/// the whole model in one place, from the same θ_0, on exactly the tokens of the units the coordinator accepted (each unit's slice and
/// seed replayed in round order), so the two runs differ only in how the training was split and merged.
/// </summary>
public static class CentralReplay
{
    /// <summary>Trains centrally on the accepted units' tokens and returns the final parameters and the tokens trained on.</summary>
    public static (ParameterSet Parameters, long Tokens) Train(CoordinatorEngine engine, IProgress<TrainingProgress>? progress = null)
    {
        var options = engine.Options;
        var corpus = engine.Text ?? throw new InvalidOperationException("the central replay needs a real-text corpus (--data).");
        var units = new WorkUnitFactory(options, engine.Model, corpus);
        var sources = new List<(IBatchSource Source, int Batches)>();
        var slices = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (long round = 0; round < engine.Round; round++)
        {
            foreach (var update in engine.Store.Updates(round).OrderBy(u => u.WorkUnitId, StringComparer.Ordinal))
            {
                var unit = engine.Store.GetWorkUnit(update.WorkUnitId)!;
                DataSpec spec = units.Data(WorkUnitFactory.SliceSeed(options.Seed, unit.Round, unit.UnitIndex));
                if (!slices.TryGetValue(spec.FileSha256!, out var bytes))
                {
                    corpus.TryFind(spec.FileSha256!, out var slice);
                    bytes = new byte[slice.ByteLength];
                    corpus.Read(slice, 0, bytes);
                    slices[spec.FileSha256!] = bytes;
                }
                sources.Add((new TokenSliceBatchSource(bytes, spec.TokenBytes, spec.VocabSize, spec.SliceSeed), options.InnerSteps));
            }
        }
        int steps = sources.Sum(s => s.Batches);
        if (steps == 0) throw new InvalidOperationException("no accepted updates to replay; train at least one round first.");
        var start = ModelInit.Initialize(engine.Model, options.Seed);
        // One call, so AdamW's moments run through the whole replay as in any central run. (It was split into 200-step calls
        // while a crash of long calls was unexplained; that crash was the build rewriting the DLLs under the running process,
        // see docs/benchmarks/data.md.)
        var training = units.TrainingOptions(options.Seed) with { InnerSteps = steps };
        var result = LocalTrainer.Train(engine.Model, start, ShardSpec.Full(engine.Model), new ReplaySource(sources), training, progress);
        var trained = new ParameterSet();
        foreach (var t in start)
        {
            float[] delta = result.PseudoGradient[t.Name].Values;
            var values = new float[delta.Length];
            for (int i = 0; i < values.Length; i++) values[i] = t.Values[i] - delta[i];
            trained.Add(new NamedTensor(t.Name, t.Shape, values));
        }
        return (trained, result.Tokens);
    }

    /// <summary>Each unit's batches in turn, exactly as that unit's volunteer drew them.</summary>
    private sealed class ReplaySource(IReadOnlyList<(IBatchSource Source, int Batches)> units) : IBatchSource
    {
        private int _unit;
        private int _taken;

        public TokenBatch Next(int batchSize, int seqLen)
        {
            if (_taken == units[_unit].Batches)
            {
                _unit++;
                _taken = 0;
            }
            _taken++;
            return units[_unit].Source.Next(batchSize, seqLen);
        }
    }
}
