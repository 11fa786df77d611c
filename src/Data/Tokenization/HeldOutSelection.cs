namespace Hivemind.Data;

/// <summary>
/// Which held-out documents an evaluation scores: per component, whole documents in file order while they fit a
/// token budget (at least one). A model and a compressor given the same selection score the same text.
/// </summary>
public static class HeldOutSelection
{
    /// <summary>Per component (by index into the header's names), the ordinals of the selected documents.</summary>
    public static IReadOnlyList<IReadOnlyList<long>> Select(TokenFile file, long tokensPerComponent)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (tokensPerComponent < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(tokensPerComponent), tokensPerComponent, "the per-component token budget must be at least 1.");
        }
        var selected = file.Header.Components.Select(_ => new List<long>()).ToArray();
        var used = new long[selected.Length];
        var full = new bool[selected.Length];
        for (long i = 0; i < file.Header.Documents; i++)
        {
            TokenDocument doc = file.Document(i);
            int c = doc.Component;
            if (full[c] || doc.TokenCount == 0) continue;
            // +1: the end-of-text before each document is its context, not a scored token.
            if (selected[c].Count > 0 && used[c] + doc.TokenCount + 1 > tokensPerComponent)
            {
                full[c] = true;
                continue;
            }
            selected[c].Add(i);
            used[c] += doc.TokenCount + 1;
        }
        return selected;
    }
}
