namespace Hivemind.Coordinator.Verification;

/// <summary>
/// Recent norms of accepted updates per kind of tensor group (trunk, expert), so the norm bound follows what honest training
/// produces: an update above <c>factor × running median</c> is refused. Until enough norms are known only the absolute bound applies.
/// Not thread-safe: the engine calls it under its lock.
/// </summary>
public sealed class NormHistory
{
    /// <summary>Accepted norms remembered per kind.</summary>
    public const int Window = 64;

    /// <summary>Norms needed before the running bound applies.</summary>
    public const int MinSamples = 3;

    private readonly Dictionary<string, Queue<double>> _norms = new(StringComparer.Ordinal);

    /// <summary>The kind a tensor group belongs to: experts share one history, the trunk has its own.</summary>
    public static string Kind(string groupKey) => groupKey == Rounds.TensorGroups.Trunk ? "trunk" : "expert";

    /// <summary>The running median for <paramref name="kind"/>, or null while fewer than <see cref="MinSamples"/> are known.</summary>
    public double? Median(string kind)
    {
        if (!_norms.TryGetValue(kind, out var q) || q.Count < MinSamples) return null;
        var sorted = q.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    public void Add(string kind, double norm)
    {
        if (!_norms.TryGetValue(kind, out var q)) _norms[kind] = q = new Queue<double>();
        q.Enqueue(norm);
        while (q.Count > Window) q.Dequeue();
    }
}
