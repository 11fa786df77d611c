namespace Hivemind.Data;

/// <summary>The synthetic multi-domain corpus: one random sparse Markov chain per domain, with exactly known optimal loss.</summary>
/// <remarks>
/// Each domain draws its own alphabet from printable ASCII and, for every state, a few successors with
/// Dirichlet(1) probabilities (quantised to 2^-16, floored at <see cref="SyntheticCorpusConfig.MinProbability"/>).
/// Batches start every sequence with the domain's tag byte (<see cref="DomainTag"/>), so a model can know
/// the domain and the optimum with a domain mix is exactly the mix of per-domain optima.
/// </remarks>
public sealed class SyntheticCorpus
{
    private const long DomainSalt = 0x5EED_D0D0;

    // A random chain with two closed classes is rejected and redrawn; it is rare for the defaults
    // (none seen), and a bound keeps a hopeless configuration from looping.
    private const int MaxAttempts = 64;

    private const byte FirstPrintable = 0x20;
    private const byte FirstTag = 0x80;

    private readonly MarkovChain[] _chains;

    /// <summary>Builds every domain's chain from the config's seed.</summary>
    public SyntheticCorpus(SyntheticCorpusConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _chains = new MarkovChain[config.Domains];
        for (int d = 0; d < config.Domains; d++)
        {
            _chains[d] = BuildDomain(config, d);
        }
    }

    /// <summary>The config the chains were built from.</summary>
    public SyntheticCorpusConfig Config { get; }

    /// <summary>Number of domains.</summary>
    public int Domains => _chains.Length;

    /// <summary>The byte that opens every sequence of <paramref name="domain"/> in a batch (0x80 + domain; never a letter).</summary>
    public static byte DomainTag(int domain) => (byte)(FirstTag + domain);

    /// <summary>The chain of one domain.</summary>
    public MarkovChain Chain(int domain) => _chains[CheckDomain(domain)];

    /// <summary>Entropy rate of a domain in nats per byte: the loss of a perfect model once the state is known.</summary>
    public double EntropyRate(int domain) => Chain(domain).EntropyRate;

    /// <summary>
    /// Best achievable mean next-byte loss (nats) over the <paramref name="seqLen"/> predictions of one batch row:
    /// the input opens with the domain tag and the stream starts at a stationary state the model cannot see,
    /// so it is H(X1..Xn | domain) / n, above the entropy rate for the first Order predictions.
    /// </summary>
    public double OptimalLoss(int domain, int seqLen) => Chain(domain).OptimalLoss(seqLen);

    /// <summary>Mix-weighted <see cref="OptimalLoss(int, int)"/>; exact because the tag tells the domain.</summary>
    public double OptimalLoss(IReadOnlyList<double> domainMix, int seqLen)
    {
        DomainMix.Validate(domainMix, Domains);
        double loss = 0;
        for (int d = 0; d < Domains; d++)
        {
            if (domainMix[d] > 0)
            {
                loss += domainMix[d] * OptimalLoss(d, seqLen);
            }
        }
        return loss;
    }

    /// <summary>Fills <paramref name="output"/> with domain bytes (no tag) from a stationary start; same seed, same bytes.</summary>
    public void Generate(int domain, long streamSeed, Span<byte> output) =>
        Chain(domain).Generate(SeedMixer.Mix(Config.Seed, domain, streamSeed), output);

    private int CheckDomain(int domain)
    {
        if ((uint)domain >= (uint)_chains.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(domain), domain, $"Domain {domain} does not exist; this corpus has domains 0 to {_chains.Length - 1}.");
        }
        return domain;
    }

    private static MarkovChain BuildDomain(SyntheticCorpusConfig config, int domain)
    {
        string? lastError = null;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var rng = new Xoshiro256(SeedMixer.Mix(config.Seed, DomainSalt, domain, attempt));
            byte[] alphabet = DrawAlphabet(ref rng, config.Alphabet);
            int states = (int)Math.Pow(config.Alphabet, config.Order);
            int k = config.Successors;
            var successors = new int[states * k];
            var counts = new int[states * k];
            var letters = Enumerable.Range(0, config.Alphabet).ToArray();
            var weights = new double[k];
            int floor = (int)Math.Ceiling(config.MinProbability * MarkovChain.ProbabilityScale);
            for (int s = 0; s < states; s++)
            {
                PartialShuffle(ref rng, letters, k);
                double total = 0;
                for (int j = 0; j < k; j++)
                {
                    // Exponential draws normalised = Dirichlet(1), uniform over the simplex.
                    weights[j] = -Math.Log(1.0 - rng.NextDouble());
                    total += weights[j];
                }
                int free = MarkovChain.ProbabilityScale - floor * k;
                int assigned = 0;
                for (int j = 0; j < k; j++)
                {
                    successors[s * k + j] = letters[j];
                    counts[s * k + j] = floor + (int)Math.Floor(weights[j] / total * free);
                    assigned += counts[s * k + j];
                }
                for (int j = 0; assigned < MarkovChain.ProbabilityScale; j = (j + 1) % k)
                {
                    counts[s * k + j]++;
                    assigned++;
                }
            }
            MarkovChain? chain = MarkovChain.TryCreate(alphabet, config.Order, successors, counts, out lastError);
            if (chain is not null)
            {
                return chain;
            }
        }
        throw new ArgumentException($"Domain {domain} of seed {config.Seed}: no usable chain in {MaxAttempts} draws ({lastError}). Use more Successors or another Seed.");
    }

    private static byte[] DrawAlphabet(ref Xoshiro256 rng, int size)
    {
        var printable = new int[SyntheticCorpusConfig.PrintableCount];
        for (int i = 0; i < printable.Length; i++)
        {
            printable[i] = FirstPrintable + i;
        }
        PartialShuffle(ref rng, printable, size);
        return printable.Take(size).Select(b => (byte)b).ToArray();
    }

    /// <summary>Fisher-Yates on the first <paramref name="count"/> positions: they become a uniform random subset.</summary>
    private static void PartialShuffle(ref Xoshiro256 rng, int[] items, int count)
    {
        for (int i = 0; i < count; i++)
        {
            int j = i + rng.NextInt(items.Length - i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
