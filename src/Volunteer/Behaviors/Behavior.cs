namespace Hivemind.Volunteer.Behaviors;

/// <summary>
/// How a volunteer treats its update. Everything but <see cref="Honest"/> is a RED-TEAM option: it exists so
/// that operators can run real adversarial volunteers against a real coordinator and see the defences work.
/// </summary>
public enum Behavior
{
    Honest,
    SignFlip,
    Gaussian,
    Alie,
    Ipm,
    LabelFlip,
    Nan,
    Replay,
    FreeRide,
}

/// <summary>Names of behaviours on the command line.</summary>
public static class Behaviors
{
    public static readonly IReadOnlyDictionary<string, Behavior> ByName = new Dictionary<string, Behavior>(StringComparer.Ordinal)
    {
        ["honest"] = Behavior.Honest,
        ["sign-flip"] = Behavior.SignFlip,
        ["gaussian"] = Behavior.Gaussian,
        ["alie"] = Behavior.Alie,
        ["ipm"] = Behavior.Ipm,
        ["label-flip"] = Behavior.LabelFlip,
        ["nan"] = Behavior.Nan,
        ["replay"] = Behavior.Replay,
        ["free-ride"] = Behavior.FreeRide,
    };

    public static Behavior Parse(string name) =>
        ByName.TryGetValue(name, out var b) ? b
            : throw new ArgumentException($"unknown --behavior '{name}'; use one of: {string.Join(", ", ByName.Keys)}.");

    public static string Name(Behavior behavior) => ByName.First(p => p.Value == behavior).Key;
}
