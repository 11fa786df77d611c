using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Hivemind.Data;

/// <summary>Checks decode(encode(text)) == text for every document of an archive, and times the encoding.</summary>
public static class TokenizerRoundTrip
{
    /// <summary>Mismatches kept in the report (the count covers all).</summary>
    public const int MaxReportedMismatches = 10;

    /// <summary>Streams <paramref name="archive"/> through <paramref name="tokenizer"/>; only encoding is timed.</summary>
    public static TokenizerRoundTripReport Check(string archive, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        CorpusInspector.RequireFile(archive);
        var ids = new List<int>();
        var examples = new List<string>();
        long documents = 0, tokens = 0, bytes = 0, mismatches = 0;
        var encoding = new Stopwatch();
        using var reader = new LmdReader(archive);
        foreach (LmdDocument doc in reader.Documents())
        {
            ids.Clear();
            encoding.Start();
            tokenizer.Encode(doc.Text, ids);
            encoding.Stop();
            string back = tokenizer.Decode(CollectionsMarshal.AsSpan(ids));
            if (!string.Equals(back, doc.Text, StringComparison.Ordinal))
            {
                mismatches++;
                if (examples.Count < MaxReportedMismatches) examples.Add($"line {doc.LineNumber}: first difference at character {FirstDifference(doc.Text, back)}");
            }
            documents++;
            tokens += ids.Count;
            bytes += Encoding.UTF8.GetByteCount(doc.Text);
        }
        return new TokenizerRoundTripReport(tokenizer.Name, documents, tokens, bytes, mismatches, examples, encoding.Elapsed);
    }

    private static int FirstDifference(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return n;
    }
}
