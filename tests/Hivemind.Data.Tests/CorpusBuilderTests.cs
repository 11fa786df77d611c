using System.Text;

namespace Hivemind.Data.Tests;

/// <summary>Building LMD archives from text files: documents, components, determinism, skipped files, bad input.</summary>
public sealed class CorpusBuilderTests : IDisposable
{
    private readonly LmdFiles _files = new();

    [Fact]
    public void EachFileIsADocumentOfItsComponentInSortedOrder()
    {
        string a = Folder("a", ("z.txt", "zeta"), ("sub/b.txt", "beta é"), ("a.txt", "alpha\n"));
        string b = Folder("b", ("one.txt", "😀 one"));
        string archive = Out("c.jsonl.zst");

        CorpusBuildReport report = CorpusBuilder.Build([new("First", [a]), new("Second", [b])], archive, new CorpusBuildOptions());

        Assert.Equal(
            [("alpha\n", "First"), ("beta é", "First"), ("zeta", "First"), ("😀 one", "Second")],
            Read(archive));
        Assert.Equal(["First", "Second"], report.Statistics.Components.Select(c => c.Name));
        Assert.Equal(Encoding.UTF8.GetByteCount("alpha\nbeta é" + "zeta"), report.Statistics.Components[0].TextBytes);
        Assert.Empty(report.Skipped);
    }

    [Fact]
    public void SameInputsGiveTheSameArchiveBytes()
    {
        string a = Folder("a", CorpusTexts.Documents.Select((d, i) => ($"{i}.txt", d.Text)).ToArray());
        string first = Out("1.jsonl.zst"), second = Out("2.jsonl.zst");

        CorpusBuilder.Build([new("A", [a])], first, new CorpusBuildOptions());
        CorpusBuilder.Build([new("A", [a])], second, new CorpusBuildOptions());

        Assert.Equal(CorpusInspector.Sha256(first), CorpusInspector.Sha256(second));
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public void SeparatorSplitsFortuneStyleFiles()
    {
        string a = Folder("f", ("fortunes", "first\nfortune\n%\nsecond\n%\n   \n%\nthird\n%\n"));
        string archive = Out("f.jsonl.zst");

        CorpusBuilder.Build([new("Fortunes", [a])], archive, new CorpusBuildOptions(Separator: "\n%\n"));

        Assert.Equal(["first\nfortune", "second", "third"], Read(archive).Select(d => d.Text));
    }

    [Fact]
    public void LongFilesAreCutAtParagraphsAndLoseNothing()
    {
        string text = string.Concat(Enumerable.Range(0, 3000).Select(i => $"entry {i}\ndefinition of entry {i} ✓\n\n"));
        string a = Folder("d", ("dict.txt", text));
        string archive = Out("d.jsonl.zst");

        CorpusBuilder.Build([new("Dict", [a])], archive, new CorpusBuildOptions(MaxDocumentChars: 4096));

        var docs = Read(archive).Select(d => d.Text).ToList();
        Assert.True(docs.Count > 10, $"{docs.Count} documents");
        Assert.All(docs, d => Assert.InRange(d.Length, 1, 4096));
        Assert.All(docs, d => Assert.EndsWith("\n\n", d, StringComparison.Ordinal));
        Assert.Equal(text, string.Concat(docs));
    }

    [Fact]
    public void BinaryAndNonUtf8FilesAreSkippedWithTheReason()
    {
        string a = Folder("m", ("good.txt", "good"));
        File.WriteAllBytes(Path.Combine(a, "latin1.txt"), [0x63, 0x61, 0x66, 0xE9]);
        File.WriteAllBytes(Path.Combine(a, "binary.bin"), [0x41, 0x00, 0x42]);
        string archive = Out("m.jsonl.zst");

        CorpusBuildReport report = CorpusBuilder.Build([new("M", [a])], archive, new CorpusBuildOptions());

        Assert.Equal(["good"], Read(archive).Select(d => d.Text));
        Assert.Equal(2, report.Skipped.Count);
        Assert.Contains(report.Skipped, s => s.Contains("binary.bin", StringComparison.Ordinal) && s.Contains("NUL byte at offset 1", StringComparison.Ordinal));
        Assert.Contains(report.Skipped, s => s.Contains("latin1.txt", StringComparison.Ordinal) && s.Contains("not UTF-8", StringComparison.Ordinal));
    }

    [Fact]
    public void BadInputNamesTheValueAndWritesNothing()
    {
        string archive = Out("bad.jsonl.zst");
        string missing = Path.Combine(_files.Folder, "nowhere");
        string a = Folder("a", ("x.txt", "x"));

        var e1 = Assert.Throws<ArgumentException>(() => CorpusBuilder.Build([new("A", [missing])], archive, new CorpusBuildOptions()));
        var e2 = Assert.Throws<ArgumentException>(() => CorpusBuilder.Build([new("A", [a]), new("A", [a])], archive, new CorpusBuildOptions()));
        var e3 = Assert.Throws<ArgumentException>(() => CorpusBuilder.Build([new("A", [a])], archive, new CorpusBuildOptions(MaxDocumentChars: 10)));
        var e4 = Assert.Throws<ArgumentException>(() => CorpusComponent.Parse("no-equals-sign"));

        Assert.Contains(missing, e1.Message, StringComparison.Ordinal);
        Assert.Contains("'A'", e2.Message, StringComparison.Ordinal);
        Assert.Contains("--max-document-chars 10", e3.Message, StringComparison.Ordinal);
        Assert.Contains("NAME=PATH", e4.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(archive));
        Assert.Empty(Directory.EnumerateFiles(_files.Folder, "*.partial"));
    }

    public void Dispose() => _files.Dispose();

    private string Folder(string name, params (string Path, string Text)[] files)
    {
        string folder = Path.Combine(_files.Folder, name);
        foreach (var (path, text) in files)
        {
            string full = Path.Combine(folder, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        return folder;
    }

    private string Out(string name) => Path.Combine(_files.Folder, name);

    private static List<(string Text, string Component)> Read(string archive)
    {
        using var reader = new LmdReader(archive);
        return reader.Documents().Select(d => (d.Text, LmdMeta.Component(d.MetaJson))).ToList();
    }
}
