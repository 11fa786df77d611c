namespace Hivemind.Data.Tests;

/// <summary>The train/held-out split by document hash.</summary>
public sealed class CorpusSplitterTests : IDisposable
{
    private readonly LmdFiles _files = new();

    [Fact]
    public void EveryDocumentLandsOnExactlyOneSideDecidedByItsText()
    {
        var texts = Enumerable.Range(0, 400).Select(i => $"document number {i}").ToList();
        string forward = Write("f.jsonl.zst", texts), backward = Write("b.jsonl.zst", Enumerable.Reverse(texts));

        var (train, held) = CorpusSplitter.Split(forward, Out("ft"), Out("fh"), 0.25);
        CorpusSplitter.Split(backward, Out("bt"), Out("bh"), 0.25);

        var heldTexts = Texts(Out("fh"));
        Assert.Equal(texts.Order(StringComparer.Ordinal), Texts(Out("ft")).Concat(heldTexts).Order(StringComparer.Ordinal));
        Assert.Equal(heldTexts.ToHashSet(), Texts(Out("bh")).ToHashSet());
        Assert.All(heldTexts, t => Assert.True(CorpusSplitter.IsHeldOut(t, 0.25)));
        // 400 draws at p = 0.25: 100 ± 8.7; the bound is 6 sigma, so only a broken hash fails it.
        Assert.InRange(held.Documents, 48, 152);
        Assert.Equal(400, train.Documents + held.Documents);
    }

    [Fact]
    public void MetaIsKeptAsItWas()
    {
        string input = Path.Combine(_files.Folder, "m.jsonl");
        File.WriteAllText(input, "{\"text\": \"a\", \"meta\": {\"pile_set_name\": \"X\", \"extra\": [1, 2]}}\n{\"text\": \"b\"}\n");

        CorpusSplitter.Split(input, Out("t"), Out("h"), 0.5);

        var all = new[] { Out("t"), Out("h") }.SelectMany(p => { using var r = new LmdReader(p); return r.Documents().ToList(); }).ToDictionary(d => d.Text);
        Assert.Equal("{\"pile_set_name\": \"X\", \"extra\": [1, 2]}", all["a"].MetaJson);
        Assert.Null(all["b"].MetaJson);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void FractionOutsideTheOpenIntervalIsRefused(double fraction)
    {
        string input = Write("x.jsonl.zst", ["a"]);
        var e = Assert.Throws<ArgumentException>(() => CorpusSplitter.Split(input, Out("t"), Out("h"), fraction));
        Assert.Contains("--held-out", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Out("t")));
    }

    [Fact]
    public void CorruptInputLeavesNoOutputBehind()
    {
        string input = Path.Combine(_files.Folder, "bad.jsonl");
        File.WriteAllText(input, "{\"text\": \"fine\"}\n{\"text\": oops}\n");

        var e = Assert.Throws<LmdFormatException>(() => CorpusSplitter.Split(input, Out("t"), Out("h"), 0.5));
        var t = Assert.Throws<LmdFormatException>(() => TokenFileWriter.Write(input, Path.Combine(_files.Folder, "tok"), ByteTokenizer.Instance));

        Assert.Equal(2, e.LineNumber);
        Assert.Equal(2, t.LineNumber);
        Assert.Equal(["bad.jsonl"], Directory.EnumerateFiles(_files.Folder).Select(Path.GetFileName));
    }

    public void Dispose() => _files.Dispose();

    private string Out(string name) => Path.Combine(_files.Folder, name + ".jsonl.zst");

    private string Write(string name, IEnumerable<string> texts)
    {
        string path = Path.Combine(_files.Folder, name);
        using var writer = new LmdWriter(path);
        foreach (string t in texts) writer.Write(t, "C");
        return path;
    }

    private static List<string> Texts(string path)
    {
        using var reader = new LmdReader(path);
        return reader.Documents().Select(d => d.Text).ToList();
    }
}
