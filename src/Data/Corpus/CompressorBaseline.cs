using System.Text;
using ZstdSharp;

namespace Hivemind.Data;

/// <summary>
/// Bits per byte that zstd at level 19 achieves on an archive's text, per component and overall: the row a
/// language model must beat. Each component's documents are compressed as one stream, in file order.
/// </summary>
public static class CompressorBaseline
{
    /// <summary>zstd -19, as the baseline names it.</summary>
    public const int Level = 19;

    /// <summary>Row name of the baseline in evaluation tables.</summary>
    public const string Name = "zstd -19";

    /// <summary>
    /// Component → bits per byte, plus <see cref="BitsPerByteTable.Overall"/>; one streaming pass per component.
    /// With <paramref name="documents"/> (ordinals in file order, as <see cref="HeldOutSelection"/> gives), only those count.
    /// </summary>
    public static BitsPerByteTable Measure(string archive, IReadOnlySet<long>? documents = null)
    {
        var stats = new CorpusStatistics();
        ForEach(archive, documents, null, (component, text) => stats.Add(component, Encoding.UTF8.GetByteCount(text)));
        var rows = new List<BitsPerByteRow>();
        foreach (ComponentStatistics component in stats.Components)
        {
            rows.Add(new BitsPerByteRow(component.Name, component.Documents, component.TextBytes, BitsPerByte(archive, documents, component.Name, component.TextBytes)));
        }
        var overall = new BitsPerByteRow(BitsPerByteTable.Overall, stats.Documents, stats.TextBytes, BitsPerByte(archive, documents, null, stats.TextBytes));
        return new BitsPerByteTable(Name, rows, overall);
    }

    private static double BitsPerByte(string archive, IReadOnlySet<long>? documents, string? component, long textBytes)
    {
        var counter = new CountingStream();
        using (var zstd = new CompressionStream(counter, Level, leaveOpen: true))
        {
            ForEach(archive, documents, component, (_, text) => zstd.Write(Encoding.UTF8.GetBytes(text)));
        }
        return textBytes == 0 ? double.NaN : counter.Length * 8.0 / textBytes;
    }

    private static void ForEach(string archive, IReadOnlySet<long>? documents, string? component, Action<string, string> use)
    {
        using var reader = new LmdReader(archive);
        long ordinal = 0;
        foreach (LmdDocument doc in reader.Documents())
        {
            string name = LmdMeta.Component(doc.MetaJson);
            if ((documents is null || documents.Contains(ordinal)) && (component is null || name == component)) use(name, doc.Text);
            ordinal++;
        }
    }
}
