using System.Collections.Concurrent;

namespace Hivemind.Data;

/// <summary>Opens the batch source a DataSpec names.</summary>
public static class BatchSources
{
    // Building a corpus takes milliseconds; work units reuse a handful of configs, so a small cache pays.
    private const int MaxCachedCorpora = 16;
    private static readonly ConcurrentDictionary<SyntheticCorpusConfig, SyntheticCorpus> Corpora = new();

    /// <summary>
    /// A deterministic source for <paramref name="spec"/>. File specs need <paramref name="fileForHash"/>,
    /// which maps a SHA-256 to a local path; the caller has checked that file against the hash.
    /// </summary>
    public static IBatchSource Open(DataSpec spec, Func<string, string>? fileForHash = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (spec.Kind == DataKind.Synthetic)
        {
            return new SyntheticBatchSource(Corpus(spec.Corpus!), spec);
        }
        if (fileForHash is null)
        {
            throw new ArgumentException($"The DataSpec names file {spec.FileSha256}; pass fileForHash to map it to a local copy.", nameof(fileForHash));
        }
        return spec.Kind == DataKind.TokenSlice
            ? TokenSliceBatchSource.Open(fileForHash(spec.FileSha256!), spec)
            : new FileBatchSource(fileForHash(spec.FileSha256!), spec.ByteOffset, spec.ByteLength);
    }

    /// <summary>The corpus for a config, built once and cached.</summary>
    public static SyntheticCorpus Corpus(SyntheticCorpusConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (Corpora.Count >= MaxCachedCorpora)
        {
            Corpora.Clear();
        }
        return Corpora.GetOrAdd(config, static c => new SyntheticCorpus(c));
    }
}
