namespace Hivemind.Data;

/// <summary>
/// Batches from the synthetic corpus. Row i of the slice (counted across calls) is the domain tag followed by
/// SeqLen bytes of a fresh stationary stream, seeded from (split, slice seed, i): rows depend only on their
/// index, so two batches of 4 equal one batch of 8.
/// </summary>
public sealed class SyntheticBatchSource : IBatchSource
{
    private const long DomainChoiceSalt = 0xD0_4A1E;

    private readonly SyntheticCorpus _corpus;
    private readonly double[] _mix;
    private readonly DataSplit _split;
    private readonly long _sliceSeed;
    private long _nextRow;

    /// <summary>Serves the slice named by <paramref name="spec"/> from an already built corpus.</summary>
    public SyntheticBatchSource(SyntheticCorpus corpus, DataSpec spec)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (spec.Kind != DataKind.Synthetic || spec.Corpus != corpus.Config)
        {
            throw new ArgumentException($"The DataSpec names corpus {spec.Corpus?.ToString() ?? "none"} but the corpus given was built from {corpus.Config}; open it with BatchSources.Open(spec).");
        }
        _corpus = corpus;
        _mix = spec.DomainMix!;
        _split = spec.Split;
        _sliceSeed = spec.SliceSeed;
    }

    /// <inheritdoc/>
    public TokenBatch Next(int batchSize, int seqLen)
    {
        BatchShape.Check(batchSize, seqLen);
        int rowLength = seqLen + 1;
        var tokens = new long[batchSize * rowLength];
        var domains = new int[batchSize];
        byte[] bytes = new byte[seqLen];
        for (int r = 0; r < batchSize; r++)
        {
            long row = _nextRow++;
            var choice = new Xoshiro256(SeedMixer.Mix((long)_split, _sliceSeed, row, DomainChoiceSalt));
            int domain = DomainMix.Sample(_mix, choice.NextDouble());
            domains[r] = domain;
            _corpus.Generate(domain, (long)SeedMixer.Mix((long)_split, _sliceSeed, row), bytes);
            Span<long> target = tokens.AsSpan(r * rowLength, rowLength);
            target[0] = SyntheticCorpus.DomainTag(domain);
            for (int i = 0; i < seqLen; i++)
            {
                target[i + 1] = bytes[i];
            }
        }
        return new TokenBatch(tokens, batchSize, seqLen, domains);
    }
}
