namespace Hivemind.Coordinator.Verification;

/// <summary>
/// The running norm bound's memory: per kind of tensor group (trunk, expert), one entry per key, its latest verified norm. The bound is
/// <c>factor × the median over keys</c>, never below <see cref="FloorFraction"/> of the highest such median seen. Not thread-safe: the
/// engine calls it under its lock.
/// </summary>
/// <remarks>
/// Why one entry per key, refused or not. The earlier rule (the median of the last 64 <em>accepted</em> norms) could be turned against
/// honest volunteers by a minority: under IPM five of 25 keys sent tiny updates every round, honest updates above 4 × the falling median
/// were refused and so never entered the history, only the attackers' tiny norms did, and the bound shrank until no round could close.
/// Here a key holds exactly one entry, written whether its update is then accepted or refused by this bound, so (1) a refused honest
/// key still speaks for the honest scale (a collapse cannot feed itself), and (2) with fewer than half of the keys in the history
/// Byzantine, the median over keys lies between the smallest and the largest honest key's norm: a minority can move the bound neither
/// below nor above the honest keys' range, whatever norms it sends or however often. Keys on probation speak only while fewer than
/// <see cref="MinKeys"/> established keys are known (a new crowd must be able to start), so a swarm of fresh keys cannot outvote the
/// established ones. The floor keeps a spell of tiny updates (or a history rebuilt after a restart from a few of them) from shrinking the
/// bound to nothing; it only ever loosens the bound, so it can refuse nobody. The history holds the <see cref="Window"/> keys heard from
/// most recently per kind, so keys that left stop speaking.
/// </remarks>
public sealed class NormHistory
{
    /// <summary>Keys remembered per kind (the most recently heard).</summary>
    public const int Window = 64;

    /// <summary>Keys needed before the running bound applies (only the absolute bound applies until then).</summary>
    public const int MinKeys = 3;

    /// <summary>The median the bound uses is never below this fraction of the highest median seen for its kind.</summary>
    public const double FloorFraction = 1.0 / 16;

    private readonly Dictionary<string, Dictionary<string, Entry>> _byKind = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _peak = new(StringComparer.Ordinal);
    private long _clock;

    private readonly record struct Entry(double Norm, long HeardAt);

    /// <summary>The kind a tensor group belongs to: experts share one history, the trunk has its own.</summary>
    public static string Kind(string groupKey) => groupKey == Rounds.TensorGroups.Trunk ? "trunk" : "expert";

    /// <summary>
    /// The median the bound for <paramref name="kind"/> multiplies: over established keys when at least <see cref="MinKeys"/> are known,
    /// else over all keys; raised to the floor. Null while fewer than <see cref="MinKeys"/> keys are known.
    /// </summary>
    public double? Median(string kind, Func<string, bool> onProbation)
    {
        if (!_byKind.TryGetValue(kind, out var entries) || entries.Count < MinKeys) return null;
        var established = entries.Where(e => !onProbation(e.Key)).Select(e => e.Value.Norm).ToList();
        var speaking = established.Count >= MinKeys ? established : entries.Values.Select(e => e.Norm).ToList();
        speaking.Sort();
        double median = speaking[speaking.Count / 2];
        double peak = Math.Max(_peak.GetValueOrDefault(kind), median);
        _peak[kind] = peak;
        return Math.Max(median, peak * FloorFraction);
    }

    /// <summary>
    /// Records <paramref name="volunteerId"/>'s latest verified norms (group key → L2 norm), replacing its earlier entry for each kind.
    /// A key's entry for a kind is its largest group norm of that kind in this update (a unit holds several experts).
    /// </summary>
    public void Record(string volunteerId, IReadOnlyDictionary<string, double> groupNorms)
    {
        long now = ++_clock;
        foreach (var kind in groupNorms.GroupBy(g => Kind(g.Key)))
        {
            if (!_byKind.TryGetValue(kind.Key, out var entries)) _byKind[kind.Key] = entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            entries[volunteerId] = new Entry(kind.Max(g => g.Value), now);
            if (entries.Count > Window) entries.Remove(entries.MinBy(e => e.Value.HeardAt).Key);
        }
    }
}
