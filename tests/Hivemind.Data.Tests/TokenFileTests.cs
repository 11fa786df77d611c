using System.Text;

namespace Hivemind.Data.Tests;

/// <summary>Pre-tokenized, memory-mapped token files and their index.</summary>
public sealed class TokenFileTests : IDisposable
{
    private readonly LmdFiles _files = new();

    [Theory]
    [InlineData("gpt2")]
    [InlineData("bytes")]
    public void TokenFileHoldsEveryDocumentFollowedByEndOfText(string tokenizerName)
    {
        ITextTokenizer tokenizer = TextTokenizers.Get(tokenizerName);
        string archive = Archive();
        string prefix = Path.Combine(_files.Folder, "tok", "corpus");

        TokenFileHeader written = TokenFileWriter.Write(archive, prefix, tokenizer);

        using var file = TokenFile.Open(prefix + TokenFileFormat.TokensExtension);
        Assert.Equal(written, file.Header with { Components = written.Components });
        Assert.Equal(written.Components, file.Header.Components);
        Assert.Equal(CorpusTexts.Documents.Count, file.Header.Documents);
        Assert.Equal(CorpusInspector.Sha256(archive), file.Header.SourceSha256);
        Assert.Equal(CorpusInspector.Sha256(TokenFileFormat.TokensPath(prefix)), file.Header.TokensSha256);
        Assert.Equal(["Dictionary", "Code (python)", "Ünïcode"], file.Header.Components);
        long next = 0, bytes = 0;
        for (int i = 0; i < CorpusTexts.Documents.Count; i++)
        {
            TokenDocument doc = file.Document(i);
            Assert.Equal(next, doc.FirstToken);
            var tokens = new long[doc.TokenCount + 1];
            file.Read(doc.FirstToken, tokens);
            Assert.Equal(tokenizer.EndOfText, tokens[^1]);
            Assert.Equal(CorpusTexts.Documents[i].Text, tokenizer.Decode(tokens[..^1].Select(t => (int)t).ToArray()));
            Assert.Equal(CorpusTexts.Documents[i].Component, file.Header.Components[doc.Component]);
            Assert.Equal(Encoding.UTF8.GetByteCount(CorpusTexts.Documents[i].Text), doc.TextBytes);
            next += tokens.Length;
            bytes += doc.TextBytes;
        }
        Assert.Equal(next, file.Length);
        Assert.Equal(bytes, file.Header.TextBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.Read(file.Length - 1, new long[2]));
    }

    [Fact]
    public void CutOrMismatchedFilesAreRefusedWithTheFix()
    {
        string prefix = Path.Combine(_files.Folder, "c");
        TokenFileWriter.Write(Archive(), prefix, ByteTokenizer.Instance);
        string index = TokenFileFormat.IndexPath(prefix), tokens = TokenFileFormat.TokensPath(prefix);
        byte[] fullIndex = File.ReadAllBytes(index);

        File.WriteAllBytes(index, fullIndex[..^3]);
        var cut = Assert.Throws<InvalidDataException>(() => TokenFile.Open(prefix));
        File.WriteAllBytes(index, fullIndex);
        using (var stream = new FileStream(tokens, FileMode.Append)) stream.WriteByte(1);
        var longer = Assert.Throws<InvalidDataException>(() => TokenFile.Open(prefix));
        var missing = Assert.Throws<ArgumentException>(() => TokenFile.Open(Path.Combine(_files.Folder, "nothing")));

        Assert.Contains("end magic", cut.Message, StringComparison.Ordinal);
        Assert.Contains("hivemind-corpus tokenize", cut.Message, StringComparison.Ordinal);
        Assert.Contains("but the index says", longer.Message, StringComparison.Ordinal);
        Assert.Contains("nothing.tokens", missing.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _files.Dispose();

    private string Archive()
    {
        string path = Path.Combine(_files.Folder, "a.jsonl.zst");
        using var writer = new LmdWriter(path);
        foreach (var (text, component) in CorpusTexts.Documents) writer.Write(text, component);
        return path;
    }
}
