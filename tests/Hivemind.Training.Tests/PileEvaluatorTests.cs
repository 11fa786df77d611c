using Hivemind.Data;

namespace Hivemind.Training.Tests;

/// <summary>Held-out bits per byte per component, as The Pile reports it.</summary>
public sealed class PileEvaluatorTests : IDisposable
{
    private const int SeqLen = 32;
    private readonly string _dir = Directory.CreateTempSubdirectory("hm-pile-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void UntrainedByteModelScoresAboutEightBitsPerByteOnEveryComponent()
    {
        TestTorch.Use();
        using TokenFile file = TokenFile(ByteTokenizer.Instance);
        var config = ModelConfig.Preset("tiny", ByteTokenizer.Instance);

        BitsPerByteTable table = PileEvaluator.Evaluate(config, ModelInit.Initialize(config, 1), file, SeqLen, batchSize: 4, tokensPerComponent: 400, "tiny");

        // Near-zero initial logits predict uniformly over 256 bytes: log2(256) = 8 bits for every byte.
        Assert.Equal(["Prose", "Code"], table.Components.Select(r => r.Component));
        Assert.All(table.Components.Append(table.All), r => Assert.InRange(r.BitsPerByte, 7.9, 8.2));
        Assert.Equal(table.Components.Sum(r => r.TextBytes), table.All.TextBytes);
        Assert.Equal(table.Components.Sum(r => r.Documents), table.All.Documents);
    }

    [Fact]
    public void EveryTokenIsScoredOnceWhateverTheBatchingAndBudgetTakesWholeDocuments()
    {
        TestTorch.Use();
        using TokenFile file = TokenFile(Gpt2Tokenizer.Instance);
        var config = ModelConfig.Preset("tiny", Gpt2Tokenizer.Instance);
        var parameters = ModelInit.Initialize(config, 2);

        BitsPerByteTable one = PileEvaluator.Evaluate(config, parameters, file, SeqLen, 1, 200, "a");
        BitsPerByteTable five = PileEvaluator.Evaluate(config, parameters, file, SeqLen, 5, 200, "b");

        Assert.Equal(one.All.BitsPerByte, five.All.BitsPerByte, 5);
        // Budget 200 tokens: whole documents while they fit, in file order, per component.
        for (int c = 0; c < one.Components.Count; c++)
        {
            var docs = Enumerable.Range(0, (int)file.Header.Documents).Select(i => file.Document(i)).Where(d => d.Component == c).ToList();
            long used = 0, bytes = 0, count = 0;
            foreach (var d in docs)
            {
                if (count > 0 && used + d.TokenCount + 1 > 200) break;
                used += d.TokenCount + 1;
                bytes += d.TextBytes;
                count++;
            }
            Assert.Equal(count, one.Components[c].Documents);
            Assert.Equal(bytes, one.Components[c].TextBytes);
        }
        Assert.True(one.All.Documents < file.Header.Documents, "the budget should leave documents out");
    }

    [Fact]
    public void TokenizerMismatchIsRefusedWithTheFix()
    {
        using TokenFile file = TokenFile(Gpt2Tokenizer.Instance);
        var config = ModelConfig.Preset("tiny");
        var e = Assert.Throws<ArgumentException>(() => PileEvaluator.Evaluate(config, ModelInit.Initialize(config, 1), file, SeqLen, 1, 100, "x"));
        Assert.Contains("gpt2 (50257 ids)", e.Message, StringComparison.Ordinal);
        Assert.Contains("VocabSize 256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenFileRowsAreDeterministicSlicesOfTheRange()
    {
        using TokenFile file = TokenFile(ByteTokenizer.Instance);
        var a = new TokenFileBatchSource(file, 10, 500, seed: 7);
        var b = new TokenFileBatchSource(file, 10, 500, seed: 7);

        TokenBatch eight = a.Next(8, SeqLen);
        long[] twoFours = [.. b.Next(4, SeqLen).Tokens, .. b.Next(4, SeqLen).Tokens];

        Assert.Equal(eight.Tokens, twoFours);
        var all = new long[file.Length];
        file.Read(0, all);
        for (int r = 0; r < 8; r++)
        {
            long[] row = eight.Row(r).ToArray();
            int at = Enumerable.Range(10, 500 - SeqLen).First(s => all.AsSpan(s, SeqLen + 1).SequenceEqual(row));
            Assert.InRange(at, 10, 510 - SeqLen - 1);
        }
        Assert.NotEqual(eight.Tokens, new TokenFileBatchSource(file, 10, 500, seed: 8).Next(8, SeqLen).Tokens);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenFileBatchSource(file, 0, file.Length + 1, 0));
    }

    private TokenFile TokenFile(ITextTokenizer tokenizer)
    {
        string archive = Path.Combine(_dir, $"{tokenizer.Name}.jsonl.zst");
        using (var writer = new LmdWriter(archive))
        {
            for (int i = 0; i < 30; i++)
            {
                writer.Write($"Document {i} of prose: the quick brown fox jumps over the lazy dog {i} times.", "Prose");
                writer.Write($"def f{i}(x):\n    return x * {i} + 1\n", "Code");
            }
        }
        string prefix = Path.Combine(_dir, tokenizer.Name);
        TokenFileWriter.Write(archive, prefix, tokenizer);
        return Hivemind.Data.TokenFile.Open(prefix);
    }
}
