using Hivemind.Coordinator.Verification;

namespace Hivemind.Coordinator.SpotChecks;

/// <summary>One recomputation of the calibration: the class of the claimed update (honest or a cheat), who computed what, and how far apart.</summary>
public sealed record CalibrationSample(string Class, int Unit, string VolunteerPath, string CheckerPath, UpdateDivergence Divergence)
{
    public const string Honest = "honest";

    public bool IsHonest => Class == Honest;
}
