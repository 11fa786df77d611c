using System.Text;
using System.Text.RegularExpressions;

namespace Hivemind.Simulations.Reports;

/// <summary>
/// Figures that cannot go stale: README and docs quote report tables only inside blocks that name where they come from,
/// <c>&lt;!-- figures: SCENARIO SIZE "## Section" --&gt;</c> … <c>&lt;!-- /figures --&gt;</c> (SIZE is smoke or full). The
/// <c>figures</c> command rewrites every block from a fresh report; a test fails when a block differs from what the report computes.
/// </summary>
public static partial class QuotedFigures
{
    /// <summary>The closing marker of a block.</summary>
    public const string End = "<!-- /figures -->";

    /// <summary>One quoted block: which scenario at which size, which report section's first table, and what is quoted now.</summary>
    public sealed record Block(string Scenario, bool Smoke, string Section, string Quoted, int Start, int Length);

    /// <summary>Every block of <paramref name="markdown"/>; <paramref name="source"/> names the file in errors.</summary>
    public static IReadOnlyList<Block> Blocks(string markdown, string source)
    {
        var blocks = new List<Block>();
        foreach (Match m in Opening().Matches(markdown))
        {
            int body = m.Index + m.Length;
            int end = markdown.IndexOf(End, body, StringComparison.Ordinal);
            if (end < 0)
            {
                throw new FormatException($"{source}: the figures block for '{m.Groups[1].Value}' at offset {m.Index} has no closing {End}; add it after the quoted table");
            }

            string size = m.Groups[2].Value;
            if (size is not ("smoke" or "full"))
            {
                throw new FormatException($"{source}: figures block for '{m.Groups[1].Value}' has size '{size}'; write smoke or full");
            }

            blocks.Add(new Block(m.Groups[1].Value, size == "smoke", m.Groups[3].Value, markdown[body..end].Trim('\n'), body, end - body));
        }

        return blocks;
    }

    /// <summary>The first Markdown table after the heading <paramref name="section"/> of <paramref name="report"/>.</summary>
    public static string Table(string report, string section)
    {
        var lines = report.Split('\n');
        int heading = Array.FindIndex(lines, l => l.TrimEnd() == section);
        if (heading < 0)
        {
            throw new FormatException($"the report has no section \"{section}\"; sections: {string.Join(", ", lines.Where(l => l.StartsWith("## ", StringComparison.Ordinal)))}");
        }

        var table = lines.Skip(heading + 1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).ToList();
        return table.Count == 0 ? throw new FormatException($"section \"{section}\" of the report has no table") : string.Join("\n", table);
    }

    /// <summary><paramref name="markdown"/> with every block replaced by the table its report computes now.</summary>
    public static string Rewrite(string markdown, string source, Func<Block, string> report)
    {
        var sb = new StringBuilder(markdown);
        foreach (var b in Blocks(markdown, source).OrderByDescending(b => b.Start))
        {
            sb.Remove(b.Start, b.Length).Insert(b.Start, "\n" + Table(report(b), b.Section) + "\n");
        }

        return sb.ToString();
    }

    [GeneratedRegex("<!-- figures: ([a-z0-9./-]+) ([a-z]+) \"([^\"]+)\" -->")]
    private static partial Regex Opening();
}
