namespace Hivemind.Data.Tests;

/// <summary>Synthetic batches: determinism, layout, split separation.</summary>
public sealed class SyntheticBatchSourceTests
{
    private static readonly SyntheticCorpusConfig Corpus = new(Seed: 11);
    private static readonly DataSpec Train = DataSpec.Synthetic(Corpus, DomainMix.Uniform(4), 5);

    [Fact]
    public void SameSpecGivesSameBatches()
    {
        IBatchSource a = BatchSources.Open(Train);
        IBatchSource b = BatchSources.Open(Train with { DomainMix = DomainMix.Uniform(4) });
        for (int i = 0; i < 3; i++)
        {
            TokenBatch x = a.Next(4, 32);
            TokenBatch y = b.Next(4, 32);
            Assert.Equal(x.Tokens, y.Tokens);
            Assert.Equal(x.Domains, y.Domains);
        }
    }

    [Fact]
    public void RowsDependOnlyOnTheirIndex()
    {
        IBatchSource halves = BatchSources.Open(Train);
        long[] first = halves.Next(4, 16).Tokens;
        long[] second = halves.Next(4, 16).Tokens;
        long[] whole = BatchSources.Open(Train).Next(8, 16).Tokens;

        Assert.Equal(first.Concat(second), whole);
    }

    [Fact]
    public void RowsOpenWithTheDomainTagAndUseThatDomainsLetters()
    {
        var corpus = BatchSources.Corpus(Corpus);
        TokenBatch batch = BatchSources.Open(Train).Next(32, 64);

        Assert.Equal(32 * 65, batch.Tokens.Length);
        Assert.Equal(4, batch.Domains.Distinct().Count());
        for (int r = 0; r < batch.BatchSize; r++)
        {
            ReadOnlySpan<long> row = batch.Row(r);
            Assert.Equal(SyntheticCorpus.DomainTag(batch.Domains[r]), row[0]);
            byte[] alphabet = corpus.Chain(batch.Domains[r]).Alphabet.ToArray();
            foreach (long token in row[1..])
            {
                Assert.Contains((byte)token, alphabet);
            }
        }
    }

    [Fact]
    public void SingleDomainMixGivesOnlyThatDomain()
    {
        TokenBatch batch = BatchSources.Open(DataSpec.Synthetic(Corpus, DomainMix.Single(4, 2), 1)).Next(16, 8);

        Assert.All(batch.Domains, d => Assert.Equal(2, d));
    }

    [Fact]
    public void HeldOutAndOtherSlicesDifferFromTraining()
    {
        long[] train = BatchSources.Open(Train).Next(8, 64).Tokens;
        long[] heldOut = BatchSources.Open(DataSpec.HeldOut(Corpus, DomainMix.Uniform(4), 5)).Next(8, 64).Tokens;
        long[] otherSlice = BatchSources.Open(DataSpec.Synthetic(Corpus, DomainMix.Uniform(4), 6)).Next(8, 64).Tokens;

        Assert.NotEqual(train, heldOut);
        Assert.NotEqual(train, otherSlice);
    }

    [Fact]
    public void FileSpecWithoutResolverIsExplained()
    {
        var e = Assert.Throws<ArgumentException>(() => BatchSources.Open(DataSpec.File(new string('0', 64), 0, 1)));

        Assert.Contains("pass fileForHash to map it to a local copy", e.Message, StringComparison.Ordinal);
    }
}
