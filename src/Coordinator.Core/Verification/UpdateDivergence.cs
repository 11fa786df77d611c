using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Verification;

/// <summary>How far one tensor group of a claimed update is from the coordinator's recomputation of it.</summary>
/// <param name="RelativeL2">‖claimed − recomputed‖ / ‖recomputed‖ (0 when both are zero, +∞ when only the recomputation is).</param>
/// <param name="Cosine">Cosine of the angle between the two (1 when both are zero, 0 when exactly one is).</param>
public sealed record GroupDivergence(string Group, double RelativeL2, double Cosine);

/// <summary>
/// The spot check's metric: relative L2 distance and cosine per tensor group (trunk, each held expert). Honest recomputations on
/// other CPUs, kernel paths and thread counts differ by floating-point noise amplified over H AdamW steps; a cheat differs by
/// much more in at least one group. The worst group decides.
/// </summary>
public sealed record UpdateDivergence(IReadOnlyList<GroupDivergence> Groups)
{
    /// <summary>Largest relative L2 distance over the groups.</summary>
    public double WorstRelativeL2 => Groups.Count == 0 ? 0 : Groups.Max(g => g.RelativeL2);

    /// <summary>Smallest cosine over the groups.</summary>
    public double WorstCosine => Groups.Count == 0 ? 1 : Groups.Min(g => g.Cosine);

    /// <summary>Compares per tensor group; a tensor the claim lacks (or has with another shape) makes its group infinitely far.</summary>
    public static UpdateDivergence Measure(ParameterSet claimed, ParameterSet recomputed)
    {
        var sums = new SortedDictionary<string, (double Diff, double Ref, double Claim, double Dot, bool Broken)>(StringComparer.Ordinal);
        foreach (var r in recomputed)
        {
            string key = TensorGroups.KeyOf(r.Name);
            var s = sums.GetValueOrDefault(key);
            if (!claimed.TryGet(r.Name, out var c) || c.Values.Length != r.Values.Length)
            {
                sums[key] = s with { Broken = true };
                continue;
            }
            double diff = 0, refSq = 0, claimSq = 0, dot = 0;
            var a = c.Values;
            var b = r.Values;
            for (int i = 0; i < b.Length; i++)
            {
                double x = a[i], y = b[i];
                diff += (x - y) * (x - y);
                refSq += y * y;
                claimSq += x * x;
                dot += x * y;
            }
            sums[key] = (s.Diff + diff, s.Ref + refSq, s.Claim + claimSq, s.Dot + dot, s.Broken);
        }
        var groups = new List<GroupDivergence>(sums.Count);
        foreach (var (key, s) in sums)
        {
            if (s.Broken || !double.IsFinite(s.Diff) || !double.IsFinite(s.Claim))
            {
                groups.Add(new GroupDivergence(key, double.PositiveInfinity, 0));
                continue;
            }
            double rel = s.Ref > 0 ? Math.Sqrt(s.Diff / s.Ref) : (s.Diff > 0 ? double.PositiveInfinity : 0);
            double cos = s.Ref > 0 && s.Claim > 0 ? s.Dot / Math.Sqrt(s.Ref * s.Claim) : (s.Ref == 0 && s.Claim == 0 ? 1 : 0);
            groups.Add(new GroupDivergence(key, rel, cos));
        }
        return new UpdateDivergence(groups);
    }

    /// <summary>One line for logs and the evidence file.</summary>
    public override string ToString() => $"worst relative L2 {WorstRelativeL2:G4}, worst cosine {WorstCosine:G6} over {Groups.Count} groups";
}
