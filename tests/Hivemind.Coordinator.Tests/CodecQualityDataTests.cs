using System.Security.Cryptography;
using Hivemind.Codec.Benchmarks;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Data;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The codec quality benchmark's <c>--data FOLDER</c> (issue 16 on real text): it trains on the folder's token file, its rows never pair
/// with synthetic ones, and a missing or corrupt folder is refused up front with the value and the fix.
/// </summary>
public sealed class CodecQualityDataTests : IDisposable
{
    private const long TrainBytes = 160 << 10;

    private const long HeldOutBytes = 16 << 10;

    private const int Volunteers = 2;

    private const int InnerSteps = 2;

    private readonly TempDirectory _dir = new();

    [Fact]
    public void ARunOnRealTextTrainsOnTheFoldersTokensAndTagsItsRows()
    {
        string folder = TextCorpusFolder.Create(Path.Combine(_dir.Path, "text-corpus"), TrainBytes, HeldOutBytes);

        var data = QualityData.Resolve(folder);
        var text = QualityRun.Run(QualitySetting.Baseline, seed: 1, Volunteers, rounds: 1, InnerSteps, Path.Combine(_dir.Path, "scratch"), data.Folder);
        var synthetic = QualityRun.Run(QualitySetting.Baseline, seed: 1, Volunteers, rounds: 1, InnerSteps, Path.Combine(_dir.Path, "scratch"));
        var row = RunRow.From(text, rounds: 1, Volunteers, data.Name);

        Assert.Equal("bytes", data.Tokenizer);
        Assert.Equal("text-corpus", data.Name);
        Assert.Equal(Volunteers * InnerSteps * text.TokensPerStep, text.Tokens);
        Assert.True(double.IsFinite(text.FinalLoss), $"held-out loss {text.FinalLoss}");
        // The held-out loss is measured on the folder's held-out tokens, not the synthetic corpus's.
        Assert.NotEqual(synthetic.FinalLoss, text.FinalLoss);
        Assert.Equal(row, RunRow.Parse(row.ToCsv(), "test"));
        Assert.Equal("fp32 up, full down [text-corpus]", row.Label);
    }

    [Fact]
    public void ASliceIsWrittenFromTheCorpusAndMatchesItsHash()
    {
        string folder = TextCorpusFolder.Create(Path.Combine(_dir.Path, "corpus"), TrainBytes, HeldOutBytes);
        using var corpus = TokenCorpus.Open(folder);
        var files = QualityData.SliceFiles(corpus, Path.Combine(_dir.Path, "slices"));

        string path = files(corpus.Slices[0].Sha256);

        Assert.Equal(corpus.Slices[0].Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        string unknown = new('a', 64);
        var e = Assert.Throws<InvalidOperationException>(() => files(unknown));
        Assert.Contains(unknown, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFolderWithoutTokenFilesIsRefusedWithTheValueAndTheFix()
    {
        string missing = Path.Combine(_dir.Path, "no-such-corpus");

        var e = Assert.Throws<ArgumentException>(() => QualityData.Resolve(missing));

        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.Contains("hivemind-corpus tokenize", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void ACorruptTokenIndexIsRefusedWithTheValueAndTheFix()
    {
        string folder = TextCorpusFolder.Create(Path.Combine(_dir.Path, "corrupt"), TrainBytes, HeldOutBytes);
        string index = TokenFileFormat.IndexPath(Path.Combine(folder, TokenCorpus.TrainName));
        File.WriteAllBytes(index, new byte[8]);

        var e = Assert.Throws<ArgumentException>(() => QualityData.Resolve(folder));

        Assert.Contains(folder, e.Message, StringComparison.Ordinal);
        Assert.Contains("hivemind-corpus tokenize", e.Message, StringComparison.Ordinal);
        Assert.Equal(8, new FileInfo(index).Length);
    }

    [Fact]
    public void ARowWrittenBeforeTheDataColumnReadsAsSynthetic()
    {
        var row = RunRow.Parse("\"int8 / steps int8\",2,1350,4,2,2.5,10,20,30,40,50,128", "old.csv:2");

        Assert.Equal("", row.Data);
        Assert.Equal("int8 / steps int8", row.Label);
    }

    public void Dispose() => _dir.Dispose();
}
