using Hivemind.Aggregation;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Verification;
using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.SpotChecks;

/// <summary>
/// The calibration's work units and the cheats that need training, identical in every child process: unit u of round 1 trains
/// from θ_1 on a two-experts-per-layer shard; its replay is unit u of round 0 trained from θ_0; other-data is another unit's slice.
/// </summary>
public sealed class CalibrationUnits
{
    /// <summary>Round of the checked units (round 0's units are what a replay sends).</summary>
    public const long CheckedRound = 1;

    /// <summary>Unit indices this far apart have unrelated data slices (the other-data cheat trains on one of them).</summary>
    public const int OtherDataOffset = 1000;

    /// <summary>Cheats that train (the others are arithmetic on an honest update).</summary>
    public static readonly IReadOnlyList<string> TrainedCheats = ["lazy", "other-data", "label-flip", "replay"];

    private readonly CoordinatorOptions _options;

    public CalibrationUnits(int innerSteps)
    {
        _options = new CoordinatorOptions { Preset = "tiny", Seed = 1, InnerSteps = innerSteps };
        _options.Validate();
        Model = ModelConfig.Preset(_options.Preset);
    }

    public ModelConfig Model { get; }

    public PayloadCodec Codec => new WorkUnitFactory(_options, Model).Codec.Codec;

    /// <summary>θ_0 (the seeded initialisation).</summary>
    public ParameterSet InitialParameters() => ModelInit.Initialize(Model, _options.Seed);

    /// <summary>Unit u of <paramref name="round"/>: trunk plus experts u and u + 1 (mod E) of each layer.</summary>
    public WorkUnit Unit(long round, int u)
    {
        var experts = Enumerable.Range(0, Model.Layers)
            .SelectMany(l => new[] { new ExpertId(l, u % Model.Experts), new ExpertId(l, (u + 1) % Model.Experts) })
            .Order().ToList();
        var data = new WorkUnitFactory(_options, Model).Data(WorkUnitFactory.SliceSeed(_options.Seed, round, u));
        var recipe = UnitRecipe.From(_options, new Storage.WorkUnitRecord($"cal-r{round}-u{u}", round, round, "", ShardText.Format(new ShardSpec(experts)), u, 0, 0, "completed"), data);
        return recipe.Build();
    }

    /// <summary>The honest pseudo-gradient of unit u from θ_1 (uncoded).</summary>
    public ParameterSet Honest(ParameterSet theta1, int u) => Train(Unit(CheckedRound, u), theta1);

    /// <summary>A training cheat's update for unit u (uncoded).</summary>
    public ParameterSet TrainedCheat(string cheat, ParameterSet theta0, ParameterSet theta1, int u)
    {
        var unit = Unit(CheckedRound, u);
        return cheat switch
        {
            "lazy" => Train(unit with { Training = unit.Training with { InnerSteps = Math.Max(1, unit.Training.InnerSteps / 2) } }, theta1),
            "other-data" => Train(unit with { Data = Unit(CheckedRound, u + OtherDataOffset).Data }, theta1),
            "label-flip" => Train(unit with { Training = unit.Training with { TargetTransform = LabelFlip.Apply } }, theta1),
            "replay" => Train(Unit(CheckedRound - 1, u), theta0),
            _ => throw new ArgumentException($"'{cheat}' is not a training cheat; use one of {string.Join(", ", TrainedCheats)}."),
        };
    }

    private static ParameterSet Train(WorkUnit unit, ParameterSet global) =>
        LocalTrainer.Train(unit.Model, Shards.Extract(global, unit.Shard), unit.Shard, BatchSources.Open(unit.Data), unit.Training).PseudoGradient;
}
