namespace Hivemind.Data.Tests;

/// <summary>The LMD reader over plain, zstd and gzip files, and its errors on bad input.</summary>
public sealed class LmdReaderTests : IDisposable
{
    private readonly LmdFiles _files = new();

    public static TheoryData<string, LmdCompression> Encodings() => new()
    {
        { "data.jsonl", LmdCompression.None },
        { "data.jsonl.zst", LmdCompression.Zstd },
        { "data.jsonl.gz", LmdCompression.Gzip },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void ReadsEveryDocumentWithOffsets(string name, LmdCompression compression)
    {
        byte[] raw = LmdFiles.Jsonl(LmdFiles.Texts);
        using var reader = new LmdReader(_files.Write(name, raw));
        List<LmdDocument> docs = reader.Documents().ToList();

        Assert.Equal(compression, reader.Compression);
        Assert.Equal(LmdFiles.Texts, docs.Select(d => d.Text));
        Assert.Equal("{\"pile_set_name\":\"Enron Emails\"}", docs[1].MetaJson);
        Assert.Equal(Enumerable.Range(1, docs.Count).Select(i => (long)i), docs.Select(d => d.LineNumber));
        long offset = 0;
        foreach (LmdDocument doc in docs)
        {
            // Offsets index the decompressed stream: each line ends with a newline right where the next starts.
            Assert.Equal(offset, doc.ByteOffset);
            Assert.Equal((byte)'\n', raw[doc.ByteOffset + doc.ByteLength - 1]);
            offset += doc.ByteLength;
        }
        Assert.Equal(raw.Length, offset);
        Assert.Equal(docs, reader.Documents().ToList());
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void CorruptLineNamesFileLineAndOffset(string name, LmdCompression compression)
    {
        byte[] good = LmdFiles.Jsonl(LmdFiles.Texts.Take(5));
        string text = System.Text.Encoding.UTF8.GetString(good);
        int thirdLine = text.IndexOf('\n', text.IndexOf('\n') + 1) + 1;
        byte[] bad = System.Text.Encoding.UTF8.GetBytes(text[..thirdLine] + "{\"text\": oops}\n" + text[thirdLine..]);
        string path = _files.Write(name, bad);

        using var reader = new LmdReader(path);
        var e = Assert.Throws<LmdFormatException>(() => reader.Documents().ToList());

        Assert.Equal(compression, reader.Compression);
        Assert.Equal(path, e.Path);
        Assert.Equal(3, e.LineNumber);
        // "oops" starts 9 bytes into the line ({"text": is 8 bytes plus a space).
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text[..thirdLine]) + 9, e.ByteOffset);
        Assert.StartsWith($"{path}: line 3, byte offset {e.ByteOffset} (decompressed): invalid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTextFieldIsNamed()
    {
        string path = _files.Write("notext.jsonl", "{\"text\":\"a\"}\n{\"meta\":{}}\n"u8.ToArray());
        using var reader = new LmdReader(path);

        var e = Assert.Throws<LmdFormatException>(() => reader.Documents().ToList());
        Assert.Equal($"{path}: line 2, byte offset 13 (decompressed): the object has no string \"text\" field.", e.Message);
    }

    [Theory]
    [InlineData("cut.jsonl.zst")]
    [InlineData("cut.jsonl.gz")]
    public void TruncatedCompressedFileNamesFileLineAndOffset(string name)
    {
        byte[] raw = LmdFiles.Jsonl(LmdFiles.Texts);
        string path = _files.Write(name, raw);
        foreach (int cut in new[] { 2, File.ReadAllBytes(path).Length / 2, File.ReadAllBytes(path).Length - 1 })
        {
            string cutPath = _files.Write($"{cut}-{name}", []);
            File.WriteAllBytes(cutPath, File.ReadAllBytes(path)[..cut]);
            using var reader = new LmdReader(cutPath);

            var e = Assert.Throws<LmdFormatException>(() => reader.Documents().ToList());

            Assert.Equal(cutPath, e.Path);
            Assert.InRange(e.ByteOffset, 0, raw.Length);
            // The reported line is the one in progress at the reported offset.
            Assert.Equal(1 + raw.AsSpan(0, (int)e.ByteOffset).Count((byte)'\n'), e.LineNumber);
            Assert.Contains("stream is truncated or corrupt", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TruncatedPlainFileNamesTheLastLine()
    {
        byte[] raw = LmdFiles.Jsonl(LmdFiles.Texts.Take(3));
        string path = _files.Write("cut.jsonl", raw[..^10]);
        using var reader = new LmdReader(path);

        var e = Assert.Throws<LmdFormatException>(() => reader.Documents().ToList());

        Assert.Equal(3, e.LineNumber);
        Assert.Contains("the file may be truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RangeSelectsDocumentsByLineStart()
    {
        byte[] raw = LmdFiles.Jsonl(LmdFiles.Texts);
        using var reader = new LmdReader(_files.Write("range.jsonl.zst", raw));
        List<LmdDocument> all = reader.Documents().ToList();

        List<LmdDocument> middle = reader.Documents(all[3].ByteOffset, all[6].ByteOffset - all[3].ByteOffset).ToList();
        List<LmdDocument> fromInsideALine = reader.Documents(all[3].ByteOffset + 1, all[6].ByteOffset - all[3].ByteOffset).ToList();

        Assert.Equal(all[3..6], middle);
        Assert.Equal(all[4..7], fromInsideALine);
    }

    public void Dispose() => _files.Dispose();
}
