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

    /// <summary>Component → bits per byte, plus <see cref="BitsPerByteTable.Overall"/>; one streaming pass per component.</summary>
    public static BitsPerByteTable Measure(string archive)
    {
        CorpusInspection inspection = CorpusInspector.Inspect(archive);
        var rows = new List<BitsPerByteRow>();
        foreach (ComponentStatistics component in inspection.Statistics.Components)
        {
            rows.Add(new BitsPerByteRow(component.Name, component.Documents, component.TextBytes, BitsPerByte(archive, component.Name, component.TextBytes)));
        }
        var overall = new BitsPerByteRow(BitsPerByteTable.Overall, inspection.Statistics.Documents, inspection.Statistics.TextBytes,
            BitsPerByte(archive, null, inspection.Statistics.TextBytes));
        return new BitsPerByteTable(Name, rows, overall);
    }

    private static double BitsPerByte(string archive, string? component, long textBytes)
    {
        var counter = new CountingStream();
        using (var zstd = new CompressionStream(counter, Level, leaveOpen: true))
        using (var reader = new LmdReader(archive))
        {
            foreach (LmdDocument doc in reader.Documents())
            {
                if (component is null || LmdMeta.Component(doc.MetaJson) == component) zstd.Write(Encoding.UTF8.GetBytes(doc.Text));
            }
        }
        return textBytes == 0 ? double.NaN : counter.Length * 8.0 / textBytes;
    }
}
