using Hivemind.Aggregation.Attacks;
using Hivemind.Aggregation.Spec;

namespace Hivemind.Aggregation;

/// <summary>Builds attacks from specs such as <c>alie(z=1.5)</c> or <c>gaussian(sigma=2)</c>.</summary>
public static class AttackFactory
{
    /// <summary>Every attack kind, with its parameters, as a user would type it.</summary>
    public static IReadOnlyList<string> Kinds { get; } =
    [
        "sign-flip", "gaussian(sigma=1,mu=0)", "alie", "alie(z=1.5)", "ipm(eps=0.5)", "mimic", "mimic(warmup=5)", "mimic(target=0)",
        "min-max", "min-sum", "scaled(factor=10)", "zero", "nan", "inf",
    ];

    /// <summary>Parses one attack spec; <see cref="SpecParseException"/> points at the bad token.</summary>
    public static IAttack Create(string spec)
    {
        IReadOnlyList<SpecStage> stages = SpecParser.Parse(spec);
        if (stages.Count != 1)
        {
            throw stages[1].Invalid("an attack is one kind, not a pipeline; remove \"|\" and what follows");
        }

        SpecStage s = stages[0];
        (IAttack Attack, string[] Parameters) created = s.Name switch
        {
            "sign-flip" => (new SignFlipAttack(), []),
            "gaussian" => (new GaussianAttack(Positive(s, s.Double("sigma", 1), "sigma"), s.Double("mu", 0)), ["sigma", "mu"]),
            "alie" => (new AlieAttack(s.Has("z") ? s.Double("z") : null), ["z"]),
            "ipm" => (new InnerProductManipulationAttack(s.Double("eps", 0.5)), ["eps"]),
            "mimic" when s.Has("target") && s.Has("warmup") => throw s.Invalid("mimic: give target (a fixed index) or warmup (the paper's adaptive choice), not both", "warmup"),
            "mimic" when s.Has("target") => (new MimicAttack(NonNegative(s, s.Int("target", 0), "target")), ["target"]),
            "mimic" => (MimicAttack.Adaptive(AtLeastOne(s, s.Int("warmup", MimicAttack.DefaultWarmup), "warmup")), ["warmup"]),
            "min-max" => (DistanceBoundAttack.MinMax, []),
            "min-sum" => (DistanceBoundAttack.MinSum, []),
            "scaled" => (new ScaledAttack(s.Double("factor")), ["factor"]),
            "zero" => (new ConstantAttack("zero", 0f), []),
            "nan" => (new ConstantAttack("nan", float.NaN), []),
            "inf" => (new ConstantAttack("inf", float.PositiveInfinity), []),
            _ => throw s.Invalid($"unknown attack \"{s.Name}\"; kinds: {string.Join(", ", Kinds)}"),
        };
        s.RejectUnknown(created.Parameters);
        return created.Attack;
    }

    private static double Positive(SpecStage s, double value, string key) =>
        value > 0 ? value : throw s.Invalid($"{s.Name}: {key}={value} must be > 0", key);

    private static int AtLeastOne(SpecStage s, int value, string key) =>
        value >= 1 ? value : throw s.Invalid($"{s.Name}: {key}={value} must be >= 1 (rounds)", key);

    private static int NonNegative(SpecStage s, int value, string key) =>
        value >= 0 ? value : throw s.Invalid($"{s.Name}: {key}={value} must be >= 0 (an index into the honest updates)", key);
}
