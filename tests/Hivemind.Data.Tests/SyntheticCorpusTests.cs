namespace Hivemind.Data.Tests;

/// <summary>The random multi-domain corpus: determinism, exact entropy, stationary start.</summary>
public sealed class SyntheticCorpusTests
{
    private static readonly SyntheticCorpusConfig Config = new(Seed: 42);

    [Fact]
    public void SameSeedGivesSameBytes()
    {
        var a = new byte[4096];
        var b = new byte[4096];
        var c = new byte[4096];
        new SyntheticCorpus(Config).Generate(1, 99, a);
        new SyntheticCorpus(Config).Generate(1, 99, b);
        new SyntheticCorpus(Config).Generate(1, 100, c);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void DifferentCorpusSeedsGiveDifferentChains()
    {
        var a = new SyntheticCorpus(Config);
        var b = new SyntheticCorpus(Config with { Seed = 43 });

        Assert.NotEqual(a.EntropyRate(0), b.EntropyRate(0));
    }

    [Fact]
    public void DefaultEntropyRatesAreFarBelowUniform()
    {
        var corpus = new SyntheticCorpus(Config);
        for (int d = 0; d < corpus.Domains; d++)
        {
            // Dirichlet(1) over 4 successors averages 1.08 nats; ln 4 = 1.386 is the ceiling.
            // Measured for seed 42: 1.1415, 1.1283, 1.1464, 1.1282.
            Assert.InRange(corpus.EntropyRate(d), 0.9, Math.Log(4));
        }
    }

    [Fact]
    public void EntropyRateMatchesEmpiricalLogLikelihood()
    {
        var corpus = new SyntheticCorpus(Config);
        MarkovChain chain = corpus.Chain(2);
        var bytes = new byte[1 << 22];
        corpus.Generate(2, 5, bytes);

        double nll = 0;
        for (int t = chain.Order; t < bytes.Length; t++)
        {
            nll -= Math.Log(chain.Probability(bytes.AsSpan(t - chain.Order, chain.Order), bytes[t]));
        }
        nll /= bytes.Length - chain.Order;

        // Standard error is about sd(-ln p) / sqrt(n) = 0.6 / 2048 = 3e-4; measured gap = -9.2e-5 (seed 5).
        Assert.Equal(chain.EntropyRate, nll, 1.5e-3);
    }

    [Fact]
    public void StreamsStartFromTheStationaryDistribution()
    {
        var corpus = new SyntheticCorpus(Config);
        MarkovChain chain = corpus.Chain(0);
        const int Streams = 1 << 16;
        var counts = new int[256];
        var first = new byte[1];
        for (int s = 0; s < Streams; s++)
        {
            corpus.Generate(0, s, first);
            counts[first[0]]++;
        }

        // The first byte is the last letter of a stationary state.
        var expected = new double[256];
        int letters = chain.Alphabet.Length;
        for (int state = 0; state < chain.StateCount; state++)
        {
            expected[chain.Alphabet[state % letters]] += chain.Stationary[state];
        }
        for (int b = 0; b < 256; b++)
        {
            // Largest letter probability is 0.082, so 5 sigma over 65536 draws is 0.0054; measured max gap 0.0014.
            Assert.Equal(expected[b], counts[b] / (double)Streams, 0.0054);
        }
    }

    [Fact]
    public void OptimalLossStartsAboveTheEntropyRateAndApproachesIt()
    {
        var corpus = new SyntheticCorpus(Config);
        double h = corpus.EntropyRate(0);
        double first = corpus.OptimalLoss(0, 1);
        double window = corpus.OptimalLoss(0, 256);

        // The first byte is predicted from the domain alone: at most ln 16 with a 16-letter alphabet.
        Assert.InRange(first, h, Math.Log(16) + 1e-12);
        Assert.InRange(window, h, h + (first - h));
        Assert.Equal(corpus.Chain(0).BlockEntropy(256) / 256, window, 1e-12);
    }

    [Fact]
    public void MixedOptimalLossIsTheWeightedSum()
    {
        var corpus = new SyntheticCorpus(Config);
        double[] mix = [0.5, 0.25, 0.25, 0];
        double expected = 0.5 * corpus.OptimalLoss(0, 64) + 0.25 * corpus.OptimalLoss(1, 64) + 0.25 * corpus.OptimalLoss(2, 64);

        Assert.Equal(expected, corpus.OptimalLoss(mix, 64), 1e-12);
    }

    [Fact]
    public void DomainsUseTheirOwnPrintableAlphabet()
    {
        var corpus = new SyntheticCorpus(Config);
        var bytes = new byte[10_000];
        corpus.Generate(3, 1, bytes);
        byte[] alphabet = corpus.Chain(3).Alphabet.ToArray();

        Assert.All(bytes, b => Assert.Contains(b, alphabet));
        Assert.All(alphabet, b => Assert.InRange(b, (byte)0x20, (byte)0x7E));
        Assert.Equal(0x83, SyntheticCorpus.DomainTag(3));
    }

    [Fact]
    public void OrderOneAndTwoSuccessorsAlsoBuild()
    {
        var corpus = new SyntheticCorpus(new SyntheticCorpusConfig(Seed: 1, Domains: 2, Order: 1, Successors: 2, Alphabet: 8));

        Assert.InRange(corpus.EntropyRate(1), 0.0, Math.Log(2));
    }

    [Theory]
    [InlineData(0, 2, 4, 16, "Domains = 0 is out of range; use 1 to 128.")]
    [InlineData(4, 5, 4, 16, "Order = 5 is out of range; use 1 to 4.")]
    [InlineData(4, 2, 17, 16, "Successors = 17 is out of range; use 1 to Alphabet (16).")]
    [InlineData(4, 2, 4, 96, "Alphabet = 96 is out of range; use 2 to 95 letters.")]
    [InlineData(4, 4, 4, 64, "Alphabet^Order = 64^4 states exceeds 1048576; lower Alphabet or Order.")]
    public void BadConfigsAreNamed(int domains, int order, int successors, int alphabet, string message)
    {
        var config = new SyntheticCorpusConfig(1, domains, order, successors, alphabet);

        Assert.Equal(message, Assert.Throws<ArgumentException>(config.Validate).Message);
    }

    [Fact]
    public void UnknownDomainIsNamed()
    {
        var corpus = new SyntheticCorpus(Config);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => corpus.EntropyRate(4));
        Assert.Contains("Domain 4 does not exist; this corpus has domains 0 to 3.", e.Message, StringComparison.Ordinal);
    }
}
