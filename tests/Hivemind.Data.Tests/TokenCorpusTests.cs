using System.Security.Cryptography;

namespace Hivemind.Data.Tests;

/// <summary>A corpus folder cut into content-addressed slices, and the units that name them.</summary>
public sealed class TokenCorpusTests : IDisposable
{
    private const long SliceTokens = 64;

    private readonly LmdFiles _files = new();

    [Fact]
    public void SlicesCoverTheTrainTokensAndAreNamedByTheirBytes()
    {
        string folder = Folder();
        using var corpus = TokenCorpus.Open(folder, SliceTokens);
        byte[] all = File.ReadAllBytes(Path.Combine(folder, "train.tokens"));
        long next = 0;
        foreach (TokenSlice s in corpus.Slices)
        {
            Assert.Equal(next, s.TokenStart);
            Assert.InRange(s.TokenCount, SliceTokens, 2 * SliceTokens - 1);
            var bytes = new byte[s.ByteLength];
            corpus.Read(s, 0, bytes);
            Assert.Equal(all.AsSpan((int)s.ByteStart, (int)s.ByteLength).ToArray(), bytes);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), s.Sha256);
            // Slices with the same bytes share a name (content addressing): any of them serves those bytes.
            Assert.True(corpus.TryFind(s.Sha256, out var found));
            Assert.Equal((s.Sha256, s.ByteLength), (found.Sha256, found.ByteLength));
            next += s.TokenCount;
        }
        Assert.Equal(corpus.Train.Length, next);
        Assert.True(corpus.Slices.Count > 1);
        Assert.False(corpus.TryFind(Convert.ToHexStringLower(SHA256.HashData(all)), out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.Read(corpus.Slices[0], 1, new byte[corpus.Slices[0].ByteLength]));
    }

    [Fact]
    public void SameFolderGivesTheSameSliceNames()
    {
        string folder = Folder();
        using var a = TokenCorpus.Open(folder, SliceTokens);
        using var b = TokenCorpus.Open(folder, SliceTokens);
        Assert.Equal(a.Slices, b.Slices);
    }

    [Fact]
    public void UnitsTrainOnTheSameRowsFromTheSliceAloneAsFromTheCorpus()
    {
        string folder = Folder();
        using var corpus = TokenCorpus.Open(folder, SliceTokens);
        DataSpec spec = corpus.Spec(1, seed: 5);
        spec.Validate();
        TokenSlice slice = corpus.Slices[1];
        string mirror = Path.Combine(_files.Folder, "mirror");
        corpus.WriteMirror(mirror);
        var fromFile = BatchSources.Open(spec, sha => Path.Combine(mirror, TokenSlice.FileNameFor(sha))).Next(4, 16);
        var bytes = new byte[slice.ByteLength];
        corpus.Read(slice, 0, bytes);
        var fromBytes = new TokenSliceBatchSource(bytes, spec.TokenBytes, spec.VocabSize, spec.SliceSeed).Next(4, 16);
        Assert.Equal(fromBytes.Tokens, fromFile.Tokens);
        var ids = new long[slice.TokenCount];
        corpus.Train.Read(slice.TokenStart, ids);
        Assert.All(fromFile.Tokens, t => Assert.Contains(t, ids));
    }

    [Fact]
    public void MalformedTokenSliceSpecsNameTheField()
    {
        string sha = new('a', 64);
        Assert.Contains("FileSha256", Assert.Throws<ArgumentException>(() => DataSpec.TokenSlice("../x", 8, 2, 256, 1).Validate()).Message);
        Assert.Contains("TokenBytes", Assert.Throws<ArgumentException>(() => DataSpec.TokenSlice(sha, 9, 3, 256, 1).Validate()).Message);
        Assert.Contains("whole number", Assert.Throws<ArgumentException>(() => DataSpec.TokenSlice(sha, 9, 2, 256, 1).Validate()).Message);
        Assert.Contains("VocabSize", Assert.Throws<ArgumentException>(() => DataSpec.TokenSlice(sha, 8, 2, 0, 1).Validate()).Message);
        Assert.Throws<InvalidDataException>(() => new TokenSliceBatchSource([0xFF, 0xFF, 0, 0], 2, 256, 1));
    }

    [Fact]
    public void MissingOrMismatchedFoldersAreRefusedWithTheFix()
    {
        var missing = Assert.Throws<ArgumentException>(() => TokenCorpus.Open(Path.Combine(_files.Folder, "none")));
        Assert.Contains("build-mini-pile.sh", missing.Message);
        string folder = Folder();
        TokenFileWriter.Write(Path.Combine(folder, "a.jsonl.zst"), Path.Combine(folder, "held-out"), Gpt2Tokenizer.Instance);
        var mixed = Assert.Throws<ArgumentException>(() => TokenCorpus.Open(folder, SliceTokens));
        Assert.Contains("same --tokenizer", mixed.Message);
    }

    public void Dispose() => _files.Dispose();

    private string Folder()
    {
        string folder = Path.Combine(_files.Folder, "corpus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        string archive = Path.Combine(folder, "a.jsonl.zst");
        using (var writer = new LmdWriter(archive))
        {
            foreach (var (text, component) in CorpusTexts.Documents) writer.Write(text, component);
        }
        TokenFileWriter.Write(archive, Path.Combine(folder, "train"), ByteTokenizer.Instance);
        TokenFileWriter.Write(archive, Path.Combine(folder, "held-out"), ByteTokenizer.Instance);
        return folder;
    }
}
