using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Storage;
using Hivemind.Data;
using Hivemind.Training;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// Everything that determines a work unit (model preset, seeds, hyper-parameters, codec, round, unit index, shard, data): with the
/// start parameters (and, for a real-text unit, its token slice's bytes) it lets anyone rebuild the unit exactly as the coordinator
/// leased it and re-run it.
/// </summary>
public sealed record UnitRecipe(
    string WorkUnitId, long Round, long Version, int UnitIndex, string Shard,
    string Preset, long Seed, int CorpusOrder, int InnerSteps, int BatchSize, int SequenceLength,
    double InnerLearningRate, double WeightDecay, int WarmupSteps, double ClipNorm, string Codec)
{
    /// <summary>
    /// The unit's data as leased. Null only in v1 evidence files, written before real-text units existed: then the unit trained on
    /// the synthetic corpus its seed and order derive.
    /// </summary>
    public DataSpec? Data { get; init; }

    /// <summary>The recipe of <paramref name="lease"/>, whose data the coordinator's unit factory named <paramref name="data"/>.</summary>
    public static UnitRecipe From(CoordinatorOptions o, WorkUnitRecord lease, DataSpec data) => new(
        lease.Id, lease.Round, lease.Version, lease.UnitIndex, lease.Shard,
        o.Preset, o.Seed, o.CorpusOrder, o.InnerSteps, o.BatchSize, o.SequenceLength,
        o.InnerLearningRate, o.WeightDecay, o.WarmupSteps, o.ClipNorm, o.Codec) { Data = data };

    /// <summary>The coordinator settings the unit was derived from (the others do not enter a unit).</summary>
    public CoordinatorOptions Options() => new()
    {
        Preset = Preset, Seed = Seed, CorpusOrder = CorpusOrder, InnerSteps = InnerSteps, BatchSize = BatchSize,
        SequenceLength = SequenceLength, InnerLearningRate = InnerLearningRate, WeightDecay = WeightDecay,
        WarmupSteps = WarmupSteps, ClipNorm = ClipNorm, Codec = Codec,
    };

    /// <summary>The seed of the unit's rows and training (from the coordinator's seed, the round and the unit index).</summary>
    public long SliceSeed => WorkUnitFactory.SliceSeed(Seed, Round, UnitIndex);

    /// <summary>
    /// Rebuilds the unit as it was leased (the deadline does not matter to a recomputation). A real-text unit's model has the token
    /// slice's vocabulary, as <see cref="WorkUnitFactory.ModelFor"/> gives the coordinator's.
    /// </summary>
    public WorkUnit Build()
    {
        var options = Options();
        options.Validate();
        var model = ModelConfig.Preset(Preset);
        if (Data is { Kind: DataKind.TokenSlice } text) model = model with { VocabSize = text.VocabSize };
        var lease = new WorkUnitRecord(WorkUnitId, Round, Version, "", Shard, UnitIndex, 0, 0, "completed");
        var unit = new WorkUnitFactory(options, model).Build(lease);
        return Data is null ? unit : unit with { Data = Data };
    }

    /// <summary>
    /// What a third party can check of <see cref="Data"/> without the corpus: a synthetic unit's data is the one its seeds derive;
    /// a token slice's rows come from the unit's seed and <paramref name="slice"/> (the bytes kept with it) hash to the slice's name.
    /// Empty when it holds.
    /// </summary>
    public IReadOnlyList<string> DataProblems(ReadOnlySpan<byte> slice)
    {
        var problems = new List<string>();
        if (Data is null)
        {
            if (!slice.IsEmpty) problems.Add($"the recipe names no data but {slice.Length} slice bytes come with it");
            return problems;
        }
        try
        {
            Data.Validate();
        }
        catch (ArgumentException e)
        {
            problems.Add($"the recipe's data is not valid ({e.Message})");
            return problems;
        }
        if (Data.Kind == DataKind.Synthetic)
        {
            var derived = new WorkUnitFactory(Options(), ModelConfig.Preset(Preset)).Data(SliceSeed);
            if (!Data.Equals(derived)) problems.Add($"the recipe's data ({Data}) is not the synthetic slice its seed, round and unit index derive ({derived})");
            if (!slice.IsEmpty) problems.Add($"a synthetic unit carries no slice bytes, but {slice.Length} come with it");
            return problems;
        }
        if (Data.Kind != DataKind.TokenSlice)
        {
            problems.Add($"the recipe's data is of kind {Data.Kind}, which work units do not train on; only synthetic and token-slice units are checked");
            return problems;
        }
        if (Data.SliceSeed != SliceSeed)
            problems.Add($"the token slice's row seed {Data.SliceSeed} is not the unit's seed {SliceSeed} (from seed {Seed}, round {Round}, unit {UnitIndex})");
        if (slice.Length != Data.ByteLength)
            problems.Add($"the evidence holds {slice.Length} bytes of token slice {Data.FileSha256}, which has {Data.ByteLength}: the slice is missing or truncated");
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(slice));
        if (sha != Data.FileSha256)
            problems.Add($"the slice bytes in the evidence hash to {sha}, not to the unit's token slice {Data.FileSha256}: they are not the data the unit trained on (tampered or corrupted)");
        return problems;
    }
}
