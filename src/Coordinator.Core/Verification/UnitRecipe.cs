using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Storage;
using Hivemind.Training;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// Everything that determines a work unit (model preset, seeds, hyper-parameters, codec, round, unit index, shard): with the start
/// parameters it lets anyone rebuild the unit exactly as the coordinator leased it and re-run it.
/// </summary>
public sealed record UnitRecipe(
    string WorkUnitId, long Round, long Version, int UnitIndex, string Shard,
    string Preset, long Seed, int CorpusOrder, int InnerSteps, int BatchSize, int SequenceLength,
    double InnerLearningRate, double WeightDecay, int WarmupSteps, double ClipNorm, string Codec)
{
    public static UnitRecipe From(CoordinatorOptions o, WorkUnitRecord lease) => new(
        lease.Id, lease.Round, lease.Version, lease.UnitIndex, lease.Shard,
        o.Preset, o.Seed, o.CorpusOrder, o.InnerSteps, o.BatchSize, o.SequenceLength,
        o.InnerLearningRate, o.WeightDecay, o.WarmupSteps, o.ClipNorm, o.Codec);

    /// <summary>The coordinator settings the unit was derived from (the others do not enter a unit).</summary>
    public CoordinatorOptions Options() => new()
    {
        Preset = Preset, Seed = Seed, CorpusOrder = CorpusOrder, InnerSteps = InnerSteps, BatchSize = BatchSize,
        SequenceLength = SequenceLength, InnerLearningRate = InnerLearningRate, WeightDecay = WeightDecay,
        WarmupSteps = WarmupSteps, ClipNorm = ClipNorm, Codec = Codec,
    };

    /// <summary>Rebuilds the unit as it was leased (the deadline does not matter to a recomputation).</summary>
    public WorkUnit Build()
    {
        var options = Options();
        options.Validate();
        var model = ModelConfig.Preset(Preset);
        var lease = new WorkUnitRecord(WorkUnitId, Round, Version, "", Shard, UnitIndex, 0, 0, "completed");
        return new WorkUnitFactory(options, model).Build(lease);
    }
}
