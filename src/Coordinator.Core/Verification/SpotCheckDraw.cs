using System.Security.Cryptography;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// Whether to check an accepted update, drawn from the operating system's CSPRNG after the update is in: no seed, no sequence a
/// volunteer could learn or predict, so every update it sends carries the same risk.
/// </summary>
public static class SpotCheckDraw
{
    /// <summary>Resolution of the draw: probabilities are honoured to about 1e-9.</summary>
    private const int Resolution = int.MaxValue;

    public static bool Draw(double probability) =>
        probability > 0 && (probability >= 1 || RandomNumberGenerator.GetInt32(Resolution) < probability * Resolution);
}
