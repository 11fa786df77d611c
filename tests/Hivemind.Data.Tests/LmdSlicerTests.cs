using System.Security.Cryptography;
using System.Text;

namespace Hivemind.Data.Tests;

/// <summary>Slicing an LMD file into work-unit DataSpecs, and reading a slice as batches.</summary>
public sealed class LmdSlicerTests : IDisposable
{
    private const long SliceBytes = 500;

    private readonly LmdFiles _files = new();

    [Theory]
    [InlineData("s.jsonl")]
    [InlineData("s.jsonl.zst")]
    [InlineData("s.jsonl.gz")]
    public void SlicesCoverEveryDocumentExactlyOnce(string name)
    {
        byte[] raw = LmdFiles.Jsonl(LmdFiles.Texts);
        string path = _files.Write(name, raw);

        LmdSlicing slicing = LmdSlicer.Slice(path, SliceBytes);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), slicing.FileSha256);
        Assert.Equal(raw.Length, slicing.DecompressedLength);
        Assert.Equal(LmdFiles.Texts.Count, slicing.DocumentCount);
        Assert.True(slicing.Slices.Count > 3, $"expected several slices of about {SliceBytes} bytes, got {slicing.Slices.Count}");
        long next = 0;
        var texts = new List<string>();
        using var reader = new LmdReader(path);
        foreach (DataSpec slice in slicing.Slices)
        {
            slice.Validate();
            Assert.Equal(next, slice.ByteOffset);
            next += slice.ByteLength;
            texts.AddRange(reader.Documents(slice.ByteOffset, slice.ByteLength).Select(d => d.Text));
        }
        Assert.Equal(raw.Length, next);
        Assert.Equal(LmdFiles.Texts, texts);
    }

    [Fact]
    public void SlicingIsDeterministicAndIndependentOfCompression()
    {
        byte[] raw = LmdFiles.Jsonl(LmdFiles.Texts);
        LmdSlicing plain = LmdSlicer.Slice(_files.Write("d.jsonl", raw), SliceBytes);
        LmdSlicing again = LmdSlicer.Slice(_files.Write("d2.jsonl", raw), SliceBytes);
        LmdSlicing zstd = LmdSlicer.Slice(_files.Write("d.jsonl.zst", raw), SliceBytes);

        Assert.Equal(plain.Slices, again.Slices);
        Assert.Equal(plain.Slices.Select(s => (s.ByteOffset, s.ByteLength)), zstd.Slices.Select(s => (s.ByteOffset, s.ByteLength)));
        Assert.NotEqual(plain.FileSha256, zstd.FileSha256);
    }

    [Fact]
    public void SlicingATruncatedFileFails()
    {
        byte[] zst = LmdFiles.Zstd(LmdFiles.Jsonl(LmdFiles.Texts));
        string path = _files.Write("t.jsonl", zst[..^3]);

        var e = Assert.Throws<LmdFormatException>(() => LmdSlicer.Slice(path, SliceBytes));
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void FileBatchesReadTheSliceTextInOrderAndWrap()
    {
        byte[] raw = LmdFiles.Jsonl(LmdFiles.Texts);
        string path = _files.Write("b.jsonl.gz", raw);
        LmdSlicing slicing = LmdSlicer.Slice(path, SliceBytes);
        DataSpec slice = slicing.Slices[1];
        using var reader = new LmdReader(path);
        byte[] expected = reader.Documents(slice.ByteOffset, slice.ByteLength)
            .SelectMany(d => Encoding.UTF8.GetBytes(d.Text).Append(FileBatchSource.EndOfDocument)).ToArray();

        IBatchSource source = BatchSources.Open(slice, hash => hash == slicing.FileSha256 ? path : throw new FileNotFoundException(hash));
        int rowLength = 33;
        int rows = expected.Length / rowLength + 2;
        TokenBatch batch = source.Next(rows, rowLength - 1);
        TokenBatch same = BatchSources.Open(slice, _ => path).Next(rows, rowLength - 1);

        Assert.Equal(batch.Tokens, same.Tokens);
        Assert.All(batch.Domains, d => Assert.Equal(0, d));
        for (int i = 0; i < batch.Tokens.Length; i++)
        {
            Assert.Equal(expected[i % expected.Length], batch.Tokens[i]);
        }
    }

    public void Dispose() => _files.Dispose();
}
