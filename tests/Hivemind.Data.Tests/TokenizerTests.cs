namespace Hivemind.Data.Tests;

/// <summary>GPT-2's BPE as GPT-Neo uses it, and the byte tokenizer.</summary>
public sealed class TokenizerTests
{
    [Fact]
    public void Gpt2MatchesKnownIdsAndVocabulary()
    {
        ITextTokenizer gpt2 = TextTokenizers.Get("gpt2");
        var ids = new List<int>();

        gpt2.Encode("Hello world", ids);

        // The ids GPT-2 (and GPT-Neo) give "Hello world"; 50256 is <|endoftext|>.
        Assert.Equal([15496, 995], ids);
        Assert.Equal(50257, gpt2.VocabSize);
        Assert.Equal(50256, gpt2.EndOfText);
    }

    [Fact]
    public void EveryTokenizerRoundTripsTrickyText()
    {
        foreach (string name in TextTokenizers.Names)
        {
            ITextTokenizer t = TextTokenizers.Get(name);
            foreach (var (text, _) in CorpusTexts.Documents)
            {
                var ids = new List<int>();
                t.Encode(text, ids);
                Assert.All(ids, id => Assert.InRange(id, 0, t.VocabSize - 1));
                Assert.Equal(text, t.Decode(ids.ToArray()));
            }
        }
    }

    [Fact]
    public void BadNamesAndIdsAreRefusedWithTheFix()
    {
        var e = Assert.Throws<ArgumentException>(() => TextTokenizers.Get("gpt-3"));
        Assert.Contains("'gpt-3'", e.Message, StringComparison.Ordinal);
        Assert.Contains("bytes, gpt2", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpt2Tokenizer.Instance.Decode([50257]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteTokenizer.Instance.Decode([256]));
    }
}
