namespace Hivemind.Coordinator.Reputation;

/// <summary>
/// Scores volunteers: an accepted update close to the robust aggregate earns a little, an outlier or a failed
/// check (with a valid signature, so it is attributable) costs more. Below the ban threshold the coordinator bans.
/// </summary>
public sealed class ReputationBook
{
    /// <summary>Earned by an update within <see cref="OutlierRatio"/> of the typical distance to the aggregate.</summary>
    public const double Reward = 0.25;

    /// <summary>Cost of an update farther than <see cref="OutlierRatio"/> times the median distance.</summary>
    public const double OutlierPenalty = 1.0;

    /// <summary>Cost of a signed update that failed a check (non-finite, wrong shape, norm, replay, ...).</summary>
    public const double FailedCheckPenalty = 1.0;

    /// <summary>Scores are capped so that a long honest history cannot buy unlimited misbehaviour.</summary>
    public const double MaxScore = 3.0;

    /// <summary>Distance to the aggregate, relative to the median distance, beyond which an update is an outlier.</summary>
    public const double OutlierRatio = 3.0;

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
        return distances.Select(d => median > 0 ? d / median : (d > 0 ? double.PositiveInfinity : 0)).ToArray();
    }
}
