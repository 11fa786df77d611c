namespace Hivemind.Data;

/// <summary>Documents and UTF-8 text bytes per component, in order of first appearance.</summary>
public sealed class CorpusStatistics
{
    private readonly Dictionary<string, ComponentStatistics> _byName = new(StringComparer.Ordinal);
    private readonly List<ComponentStatistics> _ordered = [];

    /// <summary>Components in order of first appearance.</summary>
    public IReadOnlyList<ComponentStatistics> Components => _ordered;

    /// <summary>All documents.</summary>
    public long Documents => _ordered.Sum(c => c.Documents);

    /// <summary>All text bytes (UTF-8).</summary>
    public long TextBytes => _ordered.Sum(c => c.TextBytes);

    /// <summary>Counts one document of <paramref name="textBytes"/> bytes in <paramref name="component"/>.</summary>
    public void Add(string component, long textBytes)
    {
        if (!_byName.TryGetValue(component, out ComponentStatistics? stats))
        {
            stats = new ComponentStatistics(component);
            _byName.Add(component, stats);
            _ordered.Add(stats);
        }
        stats.Documents++;
        stats.TextBytes += textBytes;
    }
}
