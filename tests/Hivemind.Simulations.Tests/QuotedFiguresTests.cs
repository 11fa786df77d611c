using Hivemind.Simulations.Reports;

namespace Hivemind.Simulations.Tests;

/// <summary>Quoted-figure blocks: found, checked against a report, rewritten from it.</summary>
public sealed class QuotedFiguresTests
{
    private const string Report = "# r\n\n## Attack matrix\n\nText.\n\n| a | b |\n|---|---:|\n| x | 1.5 |\n\nAfter.\n";

    [Fact]
    public void A_stale_block_is_detected_and_rewritten_from_the_report()
    {
        string doc = "Intro\n<!-- figures: attack-matrix smoke \"## Attack matrix\" -->\n| a | b |\n|---|---:|\n| x | 9.9 |\n<!-- /figures -->\nEnd\n";

        var block = Assert.Single(QuotedFigures.Blocks(doc, "doc.md"));
        Assert.Equal("attack-matrix", block.Scenario);
        Assert.True(block.Smoke);
        Assert.NotEqual(QuotedFigures.Table(Report, block.Section), block.Quoted);

        string fixedDoc = QuotedFigures.Rewrite(doc, "doc.md", _ => Report);

        Assert.Equal(QuotedFigures.Table(Report, "## Attack matrix"), Assert.Single(QuotedFigures.Blocks(fixedDoc, "doc.md")).Quoted);
        Assert.Contains("| x | 1.5 |", fixedDoc);
        Assert.DoesNotContain("9.9", fixedDoc);
        Assert.StartsWith("Intro\n", fixedDoc);
        Assert.EndsWith("<!-- /figures -->\nEnd\n", fixedDoc);
    }

    [Fact]
    public void An_unclosed_block_or_a_missing_section_names_the_fix()
    {
        var open = Assert.Throws<FormatException>(() => QuotedFigures.Blocks("<!-- figures: pool full \"## X\" -->\n| a |\n", "doc.md"));
        Assert.Contains("no closing <!-- /figures -->", open.Message);
        var missing = Assert.Throws<FormatException>(() => QuotedFigures.Table(Report, "## Nope"));
        Assert.Contains("## Attack matrix", missing.Message);
    }
}
