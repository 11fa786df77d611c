using System.Globalization;
using System.Text;

namespace Hivemind.Data;

/// <summary>Bits per byte per component and overall, for a model or a compressor, on one held-out set.</summary>
/// <param name="Source">What was measured (a model name, "zstd -19").</param>
/// <param name="Components">One row per component, in order of first appearance.</param>
/// <param name="All">Every document together.</param>
public sealed record BitsPerByteTable(string Source, IReadOnlyList<BitsPerByteRow> Components, BitsPerByteRow All)
{
    /// <summary>Component name of the overall row.</summary>
    public const string Overall = "overall";

    /// <summary>A Markdown table with one column per source, rows per component then overall.</summary>
    public static string Markdown(IReadOnlyList<BitsPerByteTable> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.Count == 0) throw new ArgumentException("give at least one table to print.");
        var text = new StringBuilder();
        text.Append("| component | documents | bytes |");
        foreach (BitsPerByteTable t in tables) text.Append(CultureInfo.InvariantCulture, $" {t.Source} |");
        text.AppendLine().Append("|---|---:|---:|").AppendLine(string.Concat(Enumerable.Repeat("---:|", tables.Count)));
        foreach (BitsPerByteRow row in tables[0].Components.Append(tables[0].All))
        {
            text.Append(CultureInfo.InvariantCulture, $"| {row.Component} | {row.Documents} | {row.TextBytes} |");
            foreach (BitsPerByteTable t in tables)
            {
                BitsPerByteRow? match = row.Component == Overall ? t.All : t.Components.FirstOrDefault(r => r.Component == row.Component);
                text.Append(match is null ? " – |" : string.Create(CultureInfo.InvariantCulture, $" {match.BitsPerByte:F3} |"));
            }
            text.AppendLine();
        }
        return text.ToString();
    }
}
