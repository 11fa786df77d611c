namespace Hivemind.Coordinator.Reputation;

/// <summary>
/// Scores volunteers: an accepted, useful update close to the robust aggregate earns a little; a failed check with a valid
/// signature (so it is attributable: non-finite, wrong shape, absolute norm bound, equivocation, ...) costs more. Distance from the
/// aggregate only withholds the reward, it never costs reputation. Below the ban threshold the coordinator bans.
/// </summary>
public sealed class ReputationBook
{
    /// <summary>Earned by an update within <see cref="OutlierRatio"/> of the typical distance to the aggregate.</summary>
    public const double Reward = 0.25;

    /// <summary>Cost of a signed update that failed a check (non-finite, wrong shape, norm, replay, ...).</summary>
    public const double FailedCheckPenalty = 1.0;

    /// <summary>Scores are capped so that a long honest history cannot buy unlimited misbehaviour.</summary>
    public const double MaxScore = 3.0;

    /// <summary>Distance to the aggregate, relative to the median distance, beyond which an update is an outlier (it earns nothing; distance never costs reputation).</summary>
    public const double OutlierRatio = 3.0;

    /// <summary>
    /// Floor of the distance scale, as a fraction of the median input norm: two colluders sending one vector make the median distance
    /// zero, and without a floor every honest input would look like an infinite outlier.
    /// </summary>
    public const double DistanceFloorFraction = 0.5;

    /// <summary>An update whose trunk norm is below this fraction of the round's median trunk norm made (next to) no progress and earns nothing.</summary>
    public const double MinProgressFraction = 0.1;

    private readonly Dictionary<string, double> _scores = new(StringComparer.Ordinal);

    public double Score(string volunteerId) => _scores.GetValueOrDefault(volunteerId);

    public void Load(string volunteerId, double score) => _scores[volunteerId] = score;

    public double Adjust(string volunteerId, double delta)
    {
        double next = Math.Min(MaxScore, Score(volunteerId) + delta);
        _scores[volunteerId] = next;
        return next;
    }

    /// <summary>Each input's L2 distance to <paramref name="aggregate"/> divided by the median of those distances.</summary>
    public static double[] DistanceRatios(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<float> aggregate)
    {
        var distances = new double[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var x = inputs[i].Span;
            double sum = 0;
            for (int j = 0; j < x.Length; j++)
            {
                double d = x[j] - aggregate[j];
                sum += d * d;
            }
            distances[i] = Math.Sqrt(sum);
        }
        var sorted = distances.Order().ToArray();
        double median = sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
        var norms = inputs.Select(x => Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot<float>(x.Span, x.Span))).Order().ToArray();
        double floor = norms.Length == 0 ? 0 : DistanceFloorFraction * norms[norms.Length / 2];
        double scale = Math.Max(median, floor);
        return distances.Select(d => scale > 0 ? d / scale : (d > 0 ? double.PositiveInfinity : 0)).ToArray();
    }
}
