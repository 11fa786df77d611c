using System.Text;

namespace Hivemind.Simulations.Reports;

/// <summary>A GitHub-flavoured Markdown table; numeric columns are right-aligned.</summary>
public sealed class MarkdownTable(params string[] header)
{
    private readonly List<string[]> _rows = [];

    /// <summary>Adds a row.</summary>
    public void Add(params string[] cells) => _rows.Add(cells);

    /// <summary>The table text, ending with a newline.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("| ").Append(string.Join(" | ", header)).Append(" |\n");
        sb.Append('|').Append(string.Join("|", header.Select((_, i) => IsNumeric(i) ? "---:" : "---"))).Append("|\n");
        foreach (var row in _rows)
        {
            sb.Append("| ").Append(string.Join(" | ", row.Select(c => c.Replace("|", "\\|")))).Append(" |\n");
        }

        return sb.ToString();
    }

    private bool IsNumeric(int column) =>
        _rows.Count > 0 && _rows.All(r => column < r.Length && r[column].Length > 0 && (char.IsDigit(r[column][0]) || r[column] is "n/a" or "—"));
}
