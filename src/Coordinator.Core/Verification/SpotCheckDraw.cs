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

    /// <summary>
    /// True with <paramref name="probability"/>. <paramref name="seeded"/> replaces the CSPRNG only for reproducible simulations and
    /// tests (<see cref="CoordinatorOptions.DeterministicPlanning"/>); a serving coordinator never passes one.
    /// </summary>
    public static bool Draw(double probability, Random? seeded = null) =>
        probability > 0 && (probability >= 1 || (seeded?.Next(Resolution) ?? RandomNumberGenerator.GetInt32(Resolution)) < probability * Resolution);
}
