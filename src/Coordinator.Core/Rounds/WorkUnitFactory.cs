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
    private readonly TokenCorpus? _text;

    /// <summary>Units on the synthetic corpus, or on <paramref name="text"/>'s slices when given (the engine opens it from --data).</summary>
    public WorkUnitFactory(CoordinatorOptions options, ModelConfig model, TokenCorpus? text = null)
    {
        _options = options;
        _model = model;
        _text = text;
        if (text is not null && text.VocabSize != model.VocabSize)
            throw new ArgumentException($"--data '{text.Folder}' holds {text.Tokenizer} ids ({text.VocabSize}) but the '{model.Name}' model has VocabSize {model.VocabSize}; build the model with ModelFor(options, corpus).");
        if (options.SequenceLength > model.ContextLength)
            throw new ArgumentException($"seq-len {options.SequenceLength} exceeds the '{model.Name}' model's context of {model.ContextLength}; lower --seq-len.");
        _corpus = new SyntheticCorpusConfig(options.Seed, Order: options.CorpusOrder);
        var corpus = BatchSources.Corpus(_corpus);
        _mix = DomainMix.Uniform(corpus.Domains);
        // Real text has no known optimum; the synthetic corpus's exact one would mislead.
        OptimalLoss = text is null ? corpus.OptimalLoss(_mix, options.SequenceLength) : double.NaN;
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

    /// <summary>The preset's model, with the corpus's vocabulary when training on real text.</summary>
    public static ModelConfig ModelFor(CoordinatorOptions options, TokenCorpus? text) =>
        text is null ? ModelConfig.Preset(options.Preset) : ModelConfig.Preset(options.Preset) with { VocabSize = text.VocabSize };

    /// <summary>The real-text corpus units train on, or null for the synthetic corpus.</summary>
    public TokenCorpus? Text => _text;

    public static long SliceSeed(long seed, long round, int unitIndex) =>
        (long)(unchecked(((ulong)seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)round * 0xBF58476D1CE4E5B9UL) ^ ((ulong)(unitIndex + 1) * 0x94D049BB133111EBUL)) >> 1);

    public WorkUnit Build(WorkUnitRecord lease)
    {
        long sliceSeed = SliceSeed(_options.Seed, lease.Round, lease.UnitIndex);
        return new WorkUnit(
            lease.Id, lease.Round, lease.Version, _options.Preset, _model, ShardText.Parse(lease.Shard),
            Data(sliceSeed),
            TrainingOptions(sliceSeed),
            Codec.Codec,
            DateTimeOffset.FromUnixTimeMilliseconds(lease.DeadlineMs)) {
            KeptPerBlock = Codec.KeptPerBlock, BaseUnitId = lease.BaseUnitId, InitSeed = _options.SeedDownloads ? _options.Seed : null,
        };
    }

    /// <summary>The unit's data: a synthetic slice, or the token slice the seed picks (every slice as likely).</summary>
    public DataSpec Data(long sliceSeed) =>
        _text is null ? DataSpec.Synthetic(_corpus, _mix, sliceSeed) : _text.Spec((int)((ulong)sliceSeed % (ulong)_text.Slices.Count), sliceSeed);

    public LocalTrainingOptions TrainingOptions(long seed) => new(
        _options.InnerSteps, _options.BatchSize, _options.SequenceLength, _options.InnerLearningRate,
        _options.WeightDecay, _options.WarmupSteps, _options.ClipNorm, seed);

    /// <summary>The held-out data every evaluation uses (the same batches each round, so losses compare).</summary>
    public DataSpec HeldOut() => DataSpec.HeldOut(_corpus, _mix, HeldOutSliceSeed);

    /// <summary>Held-out loss of <paramref name="parameters"/>: nats per byte (synthetic) or per token of the corpus's tokenizer (real text).</summary>
    public double Evaluate(ParameterSet parameters)
    {
        IBatchSource heldOut = _text is null
            ? BatchSources.Open(HeldOut())
            : new TokenFileBatchSource(_text.HeldOut, 0, _text.HeldOut.Length, HeldOutSliceSeed);
        var result = Evaluator.Evaluate(_model, parameters, heldOut, _options.EvalBatches, _options.BatchSize, _options.SequenceLength, OptimalLoss);
        return result.Loss;
    }
}
