namespace Hivemind.Protocol.Relays;

/// <summary>How a downloader spreads a version over relays.</summary>
/// <param name="Parallelism">Chunks in flight at once, over all sources.</param>
/// <param name="ChunkTimeout">How long one chunk may take from one source before trying the next.</param>
/// <param name="FailuresBeforeSkip">Transport failures or timeouts after which a relay gets no more chunks; a single hash mismatch skips it at once.</param>
public sealed record RelayDownloadOptions(int Parallelism, TimeSpan ChunkTimeout, int FailuresBeforeSkip)
{
    /// <summary>4 chunks in flight, 30 s per 1 MiB chunk (a slow home uplink still makes it), a relay skipped after 2 failures.</summary>
    public static RelayDownloadOptions Default { get; } = new(4, TimeSpan.FromSeconds(30), 2);

    public void Validate()
    {
        if (Parallelism < 1) throw new ArgumentException($"relay download parallelism {Parallelism} must be at least 1.", nameof(Parallelism));
        if (ChunkTimeout <= TimeSpan.Zero) throw new ArgumentException($"relay chunk timeout {ChunkTimeout} must be positive.", nameof(ChunkTimeout));
        if (FailuresBeforeSkip < 1) throw new ArgumentException($"relay failures before skip {FailuresBeforeSkip} must be at least 1.", nameof(FailuresBeforeSkip));
    }
}
