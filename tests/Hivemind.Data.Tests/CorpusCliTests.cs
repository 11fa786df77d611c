using Hivemind.Data.Cli;

namespace Hivemind.Data.Tests;

/// <summary>The hivemind-corpus command line: the commands chain, and bad input exits 2 with the fix.</summary>
public sealed class CorpusCliTests : IDisposable
{
    private readonly LmdFiles _files = new();

    [Fact]
    public void BuildSplitInspectTokenizeAndBaselineChain()
    {
        string src = Directory.CreateDirectory(Path.Combine(_files.Folder, "src")).FullName;
        for (int i = 0; i < 50; i++) File.WriteAllText(Path.Combine(src, $"{i}.txt"), $"text number {i}\n%\nsecond half {i}");
        string all = Path.Combine(_files.Folder, "all.jsonl.zst"), train = Path.Combine(_files.Folder, "train.jsonl.zst"),
            held = Path.Combine(_files.Folder, "held.jsonl.zst"), tokens = Path.Combine(_files.Folder, "held");

        Assert.Equal(0, Run(out _, "build", "--component", $"Notes={src}", "--split-at", "Notes=\\n%\\n", "--out", all));
        Assert.Equal(0, Run(out string inspect, "inspect", all));
        Assert.Equal(0, Run(out _, "split", "--in", all, "--train", train, "--held-out", held, "--held-out-fraction", "0.5"));
        Assert.Equal(0, Run(out string tokenize, "tokenize", "--in", held, "--out", tokens));
        Assert.Equal(0, Run(out string baseline, "baseline", held));
        Assert.Equal(0, Run(out string roundtrip, "roundtrip", all));

        Assert.Contains("Notes", inspect, StringComparison.Ordinal);
        Assert.Contains("100 documents", inspect, StringComparison.Ordinal);
        Assert.Contains(CorpusInspector.Sha256(all), inspect, StringComparison.Ordinal);
        Assert.StartsWith("gpt2:", tokenize, StringComparison.Ordinal);
        Assert.Contains("| overall |", baseline, StringComparison.Ordinal);
        Assert.Contains("100 documents", roundtrip, StringComparison.Ordinal);
        Assert.Contains("0 did not round-trip", roundtrip, StringComparison.Ordinal);
        using var file = TokenFile.Open(tokens);
        Assert.Equal(CorpusInspector.Inspect(held).Statistics.Documents, file.Header.Documents);
    }

    [Fact]
    public void BadInputExitsTwoNamingTheValue()
    {
        string missing = Path.Combine(_files.Folder, "missing.jsonl.zst");

        int inspect = Run(out _, out string inspectError, "inspect", missing);
        int tokenize = Run(out _, out string tokenizeError, "tokenize", "--in", missing, "--out", missing, "--tokenizer", "words");

        Assert.Equal(CorpusCli.UsageError, inspect);
        Assert.Contains(missing, inspectError, StringComparison.Ordinal);
        Assert.Equal(CorpusCli.UsageError, tokenize);
        Assert.Contains("unknown tokenizer 'words'", tokenizeError, StringComparison.Ordinal);
    }

    public void Dispose() => _files.Dispose();

    private static int Run(out string output, params string[] args) => Run(out output, out _, args);

    private static int Run(out string output, out string error, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CorpusCli.Run(args, o, e);
        output = o.ToString();
        error = e.ToString();
        return code;
    }
}
