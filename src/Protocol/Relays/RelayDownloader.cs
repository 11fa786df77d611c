using System.Collections.Concurrent;

namespace Hivemind.Protocol.Relays;

/// <summary>
/// Fetches a model version's chunks from relays in parallel, checks each against the coordinator's signed manifest, and falls back to
/// the coordinator for any chunk no healthy relay delivered. Nothing a relay sends is trusted: a wrong chunk costs one retry, skips the
/// relay for the rest of the download and is returned as a <see cref="RelayFault"/> for the coordinator to judge.
/// </summary>
public sealed class RelayDownloader(RelayDownloadOptions options, TimeProvider time)
{
    private const string CoordinatorName = "coordinator";

    /// <exception cref="InvalidDataException">The manifest is not signed by <paramref name="trustedCoordinatorKey"/>, or the coordinator itself sent a chunk that does not match it.</exception>
    public async Task<RelayDownloadResult> DownloadAsync(
        ChunkManifest manifest, ReadOnlyMemory<byte> trustedCoordinatorKey, IReadOnlyList<IChunkSource> relays, IChunkSource coordinator, CancellationToken ct)
    {
        options.Validate();
        if (!manifest.VerifySignature(trustedCoordinatorKey.Span))
            throw new InvalidDataException($"the manifest of version {manifest.Version} is not signed by the coordinator's key; refusing to download with it (fetch it from the coordinator again).");

        if (manifest.TotalBytes > Array.MaxLength)
            throw new InvalidDataException($"version {manifest.Version} is {manifest.TotalBytes} bytes, more than one array holds ({Array.MaxLength}).");
        var payload = new byte[manifest.TotalBytes];
        var state = new RelayDownloadState(relays, options.FailuresBeforeSkip);
        var pending = new ConcurrentQueue<int>(Enumerable.Range(0, manifest.ChunkCount));
        var workers = Enumerable.Range(0, Math.Min(options.Parallelism, Math.Max(1, manifest.ChunkCount))).Select(async _ =>
        {
            while (pending.TryDequeue(out var index))
            {
                var data = await FetchVerifiedAsync(manifest, index, state, coordinator, ct);
                data.CopyTo(payload.AsSpan((int)((long)index * manifest.ChunkBytes)));
            }
        });
        await Task.WhenAll(workers);
        return new RelayDownloadResult(payload, state.CoordinatorBytes, state.RelayBytes(), state.Faults());
    }

    /// <summary>Healthy relays in turn, then the coordinator.</summary>
    private async Task<byte[]> FetchVerifiedAsync(ChunkManifest manifest, int index, RelayDownloadState state, IChunkSource coordinator, CancellationToken ct)
    {
        foreach (var relay in state.CandidatesFor(index))
        {
            var (data, fault) = await TryFetchAsync(relay, manifest, index, ct);
            if (data is not null && manifest.Matches(index, data))
            {
                state.Delivered(relay, data.Length);
                return data;
            }
            state.Fault(relay, fault ?? new RelayFault(relay.Name, index, RelayFaultKind.HashMismatch,
                $"chunk {index} of version {manifest.Version}: {data!.Length} bytes that do not match the signed SHA-256 (expected {manifest.ChunkLength(index)} bytes)"));
        }
        var (own, error) = await TryFetchAsync(coordinator, manifest, index, ct);
        if (own is null) throw new IOException($"the coordinator did not deliver chunk {index} of version {manifest.Version} either: {error!.Detail}");
        if (!manifest.Matches(index, own))
            throw new InvalidDataException($"the coordinator's own chunk {index} of version {manifest.Version} does not match its manifest; the download is corrupt, retry it.");
        state.FromCoordinator(own.Length);
        return own;
    }

    private async Task<(byte[]? Data, RelayFault? Fault)> TryFetchAsync(IChunkSource source, ChunkManifest manifest, int index, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(options.ChunkTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            return (await source.FetchAsync(manifest.Version, index, linked.Token), null);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return (null, new RelayFault(source.Name, index, RelayFaultKind.TimedOut, $"chunk {index} not delivered within {options.ChunkTimeout.TotalSeconds:0.##} s"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (null, new RelayFault(source.Name, index, RelayFaultKind.Failed, $"chunk {index}: {e.Message}"));
        }
    }
}
