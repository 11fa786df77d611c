using System.Text;

namespace Hivemind.Simulations.Reports;

/// <summary>A CSV file built row by row (RFC 4180 quoting, "\n" line ends, so the bytes do not depend on the OS).</summary>
public sealed class CsvTable(params string[] header)
{
    private readonly List<string[]> _rows = [];

    /// <summary>Adds a row; it must have one cell per header column.</summary>
    public void Add(params string[] cells)
    {
        if (cells.Length != header.Length)
        {
            throw new ArgumentException($"row has {cells.Length} cells, the header {header.Length}", nameof(cells));
        }

        _rows.Add(cells);
    }

    /// <summary>The CSV text.</summary>
    public override string ToString() => Text(withHeader: true);

    /// <summary>The rows' text, with or without the header line (appending to a file that has it).</summary>
    public string Text(bool withHeader)
    {
        var sb = new StringBuilder();
        foreach (var row in withHeader ? _rows.Prepend(header) : _rows)
        {
            sb.Append(string.Join(",", row.Select(Quote))).Append('\n');
        }

        return sb.ToString();
    }

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;
}
