using Hivemind.Aggregation;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Volunteer.Behaviors;

/// <summary>
/// RED-TEAM: turns honest pseudo-gradients into a Byzantine one with the attacks of Hivemind.Aggregation. A lone
/// attacker has no view of other volunteers' updates, so statistical attacks (ALIE, Gaussian, IPM) estimate the
/// honest distribution from several honest runs of its own on different data.
/// </summary>
public static class UpdateTampering
{
    /// <summary>Honest runs a statistical attacker trains to estimate the honest mean and spread.</summary>
    public const int EstimationRuns = 3;

    /// <summary>The f the attack is crafted for: one Byzantine volunteer.</summary>
    private const int AttackerCount = 1;

    public static bool NeedsEstimates(Behavior b) => b is Behavior.Alie or Behavior.Gaussian or Behavior.Ipm;

    public static ParameterSet Apply(Behavior behavior, IReadOnlyList<ParameterSet> honest, Random rng)
    {
        var template = honest[0];
        switch (behavior)
        {
            case Behavior.Honest:
            case Behavior.LabelFlip:
            case Behavior.Replay:
                return template;
            case Behavior.FreeRide:
                return Map(template, v => new float[v.Length]);
            case Behavior.Nan:
                return Map(template, v =>
                {
                    var copy = (float[])v.Clone();
                    if (copy.Length > 0) copy[rng.Next(copy.Length)] = float.NaN;
                    return copy;
                });
            default:
                var kind = behavior switch
                {
                    Behavior.SignFlip => "sign-flip",
                    Behavior.Gaussian => "gaussian",
                    Behavior.Alie => "alie",
                    Behavior.Ipm => "ipm",
                    _ => throw new ArgumentOutOfRangeException(nameof(behavior), behavior, "no attack for this behaviour"),
                };
                var vectors = honest.Select(p => (ReadOnlyMemory<float>)p.Flatten()).ToList();
                return template.WithValues(AttackFactory.Create(kind).Craft(vectors, AttackerCount, rng)[0]);
        }
    }

    private static ParameterSet Map(ParameterSet p, Func<float[], float[]> f) => new(p.Select(t => new NamedTensor(t.Name, t.Shape, f(t.Values))));
}
