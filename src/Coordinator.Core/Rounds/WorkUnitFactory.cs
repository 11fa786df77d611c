using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using Hivemind.Coordinator.Storage;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// Turns a lease into a full work unit. Everything in it is derived from the coordinator's options and the
/// lease (round, unit index), so a unit is reproducible: the spot check and a restart rebuild the same unit.
/// </summary>
public sealed class WorkUnitFactory
{
    /// <summary>Held-out slices are seeded apart from every training slice (DataSpec.HeldOut).</summary>
    private const long HeldOutSliceSeed = 0x5EED_0E7A1;

    private readonly CoordinatorOptions _options;
    private readonly ModelConfig _model;
    private readonly SyntheticCorpusConfig _corpus;
    private readonly double[] _mix;

    public WorkUnitFactory(CoordinatorOptions options, ModelConfig model)
    {
        _options = options;
        _model = model;
        if (options.SequenceLength > model.ContextLength)
            throw new ArgumentException($"seq-len {options.SequenceLength} exceeds the '{model.Name}' model's context of {model.ContextLength}; lower --seq-len.");
        _corpus = new SyntheticCorpusConfig(options.Seed, Order: options.CorpusOrder);
        var corpus = BatchSources.Corpus(_corpus);
        _mix = DomainMix.Uniform(corpus.Domains);
        OptimalLoss = corpus.OptimalLoss(_mix, options.SequenceLength);
        Codec = ParseCodec(options.Codec, options.CodecDensity);
    }

    /// <summary>The update codec and, for a top-k codec, its kept-per-block count.</summary>
    public CodecSettings Codec { get; }

    /// <summary>A codec option's name with, for the sparse codecs, their density: "topk4" at 0.02 keeps 5 of 256.</summary>
    public static CodecSettings ParseCodec(string name, double density) => name switch
    {
        "fp32" => PayloadCodec.Fp32,
        "fp16" => PayloadCodec.Fp16,
        "int8" => PayloadCodec.Int8Block,
        "topk4" => CodecSettings.FromDensity(PayloadCodec.TopK4, density),
        "topk2" => CodecSettings.FromDensity(PayloadCodec.TopK2, density),
        _ => throw new ArgumentException($"codec '{name}' is not one of fp32, fp16, int8, topk4, topk2."),
    };

    public double OptimalLoss { get; }

    public static long SliceSeed(long seed, long round, int unitIndex) =>
        (long)(unchecked(((ulong)seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)round * 0xBF58476D1CE4E5B9UL) ^ ((ulong)(unitIndex + 1) * 0x94D049BB133111EBUL)) >> 1);

    public WorkUnit Build(WorkUnitRecord lease)
    {
        long sliceSeed = SliceSeed(_options.Seed, lease.Round, lease.UnitIndex);
        return new WorkUnit(
            lease.Id, lease.Round, lease.Version, _options.Preset, _model, ShardText.Parse(lease.Shard),
            DataSpec.Synthetic(_corpus, _mix, sliceSeed),
            TrainingOptions(sliceSeed),
            Codec.Codec,
            DateTimeOffset.FromUnixTimeMilliseconds(lease.DeadlineMs)) { KeptPerBlock = Codec.KeptPerBlock };
    }

    public LocalTrainingOptions TrainingOptions(long seed) => new(
        _options.InnerSteps, _options.BatchSize, _options.SequenceLength, _options.InnerLearningRate,
        _options.WeightDecay, _options.WarmupSteps, _options.ClipNorm, seed);

    /// <summary>The held-out data every evaluation uses (the same batches each round, so losses compare).</summary>
    public DataSpec HeldOut() => DataSpec.HeldOut(_corpus, _mix, HeldOutSliceSeed);

    /// <summary>Held-out loss of <paramref name="parameters"/>, nats per byte.</summary>
    public double Evaluate(ParameterSet parameters)
    {
        var result = Evaluator.Evaluate(_model, parameters, BatchSources.Open(HeldOut()), _options.EvalBatches, _options.BatchSize, _options.SequenceLength, OptimalLoss);
        return result.Loss;
    }
}
