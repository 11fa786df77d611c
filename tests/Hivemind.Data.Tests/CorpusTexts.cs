using System.Text;

namespace Hivemind.Data.Tests;

/// <summary>Texts that stress JSON and UTF-8: escapes, control characters, astral code points, long documents.</summary>
internal static class CorpusTexts
{
    public static IReadOnlyList<(string Text, string Component)> Documents { get; } = Build();

    private static List<(string, string)> Build()
    {
        string[] pieces =
        [
            "plain ASCII words", "quotes \" and \\ backslashes", "tabs\tand\r\nCRLF", "control \u0001\u001f chars",
            "héllo wörld ✓", "日本語のテキスト", "emoji 😀🎉 astral", "line sep \u2028 para sep \u2029", "<|endoftext|> literal",
            "</script> & <b>html</b>", "trailing newline\n",
        ];
        var docs = new List<(string, string)>();
        for (int i = 0; i < 60; i++)
        {
            var text = new StringBuilder($"document {i}: ");
            for (int j = 0; j <= i % 9; j++) text.Append(pieces[(i + j) % pieces.Length]).Append(' ');
            docs.Add((text.ToString(), i % 3 == 0 ? "Dictionary" : i % 3 == 1 ? "Code (python)" : "Ünïcode"));
        }
        // Longer than every internal buffer, so reads and writes cross their boundaries.
        docs.Add((string.Concat(Enumerable.Range(0, 40_000).Select(k => $"word{k} é😀 ")), "Dictionary"));
        return docs;
    }
}
