using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Relays;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;

namespace Hivemind.Volunteer.Relay;

/// <summary>
/// Downloads a unit's parameters from the relays the coordinator listed, trusting none of them: only IP-literal addresses the
/// <see cref="RelayAddressPolicy"/> allows from where this volunteer stands are dialed; metadata naming another version, another hash
/// or a size above the limit is refused before a data byte is read; the bytes must hash to the coordinator's SHA-256; a relay silent
/// for <see cref="IdleTimeout"/> or slower than <see cref="TotalTimeout"/> in all is dropped. The caller downloads from the coordinator
/// when every relay failed.
/// </summary>
public sealed class RelayFetcher : IDisposable
{
    /// <summary>Relays tried per download; the coordinator lists no more than this either.</summary>
    public const int MaxRelaysTried = 3;

    /// <summary>Longer than a relay's own wait for a download in progress (<see cref="RelayOptions.WaitForDownload"/>), so a relay that is still fetching is not given up early.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(75);

    /// <summary>Bounds a relay that trickles bytes just often enough to stay under the idle timeout.</summary>
    public static readonly TimeSpan DefaultTotalTimeout = TimeSpan.FromMinutes(10);

    private readonly IPAddress _vantage;
    private readonly ProtocolLimits _limits;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);

    public RelayFetcher(Uri coordinator, TimeProvider? time = null, ProtocolLimits? limits = null, TimeSpan? idleTimeout = null, TimeSpan? totalTimeout = null)
    {
        _vantage = RelayAddressPolicy.VantageOf(coordinator);
        _time = time ?? TimeProvider.System;
        _limits = limits ?? ProtocolLimits.Default;
        IdleTimeout = idleTimeout ?? DefaultIdleTimeout;
        TotalTimeout = totalTimeout ?? DefaultTotalTimeout;
    }

    public TimeSpan IdleTimeout { get; }

    public TimeSpan TotalTimeout { get; }

    /// <summary>Tries the relays in the coordinator's order; never throws for a relay's fault, only for <paramref name="ct"/>.</summary>
    public async Task<RelayFetchOutcome> FetchAsync(IReadOnlyList<string> relays, ulong version, ReadOnlyMemory<byte> sha256, CancellationToken ct)
    {
        var faults = new List<string>();
        foreach (var text in relays.Take(MaxRelaysTried))
        {
            if (!RelayAddressPolicy.TryParse(text, out var endpoint))
            {
                faults.Add($"relay address '{Printable(text)}' is not an ip:port literal; not dialed");
                continue;
            }
            if (!RelayAddressPolicy.MayConnect(endpoint.Address, _vantage))
            {
                faults.Add($"relay {endpoint} is not an address a volunteer of this coordinator may dial (loopback or private); not dialed");
                continue;
            }
            try
            {
                var payload = await FetchOneAsync(endpoint, version, sha256, ct);
                return new RelayFetchOutcome(payload, RelayAddressPolicy.Format(endpoint), faults);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                faults.Add($"relay {endpoint} was silent for {IdleTimeout.TotalSeconds:0} s or took over {TotalTimeout.TotalMinutes:0} min");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && !ct.IsCancellationRequested)
            {
                faults.Add($"relay {endpoint} was silent for {IdleTimeout.TotalSeconds:0} s or took over {TotalTimeout.TotalMinutes:0} min");
            }
            catch (RpcException e) when (!ct.IsCancellationRequested)
            {
                faults.Add($"relay {endpoint} failed ({e.StatusCode}: {Printable(e.Status.Detail)})");
            }
            catch (ProtocolException e)
            {
                faults.Add($"relay {endpoint} sent bad data ({e.Reason.Token()}: {e.Detail})");
            }
        }
        return new RelayFetchOutcome(null, null, faults);
    }

    /// <summary>Chunks in flight per relay offered: one being served while the next is requested keeps each relay's uplink busy.</summary>
    public const int ChunksInFlightPerRelay = 2;

    /// <summary>
    /// Downloads the unit's parameters chunk by chunk from the offered relays in parallel (relay.proto, "Chunked downloads"): the manifest
    /// comes from the coordinator and must be signed by <paramref name="coordinatorKey"/> (when one is known) and name the unit's version and
    /// hash; every chunk is checked against it; a bad or missing chunk is fetched from another relay, then from the coordinator; the whole
    /// payload must hash to the unit's SHA-256. Every relay caught sending a wrong chunk is reported with its signature as evidence.
    /// </summary>
    /// <exception cref="InvalidDataException">The manifest is not the coordinator's or does not describe this unit, or the assembled payload is not the unit's.</exception>
    public async Task<ChunkedFetchOutcome> FetchChunkedAsync(RelayRegistry.RelayRegistryClient coordinator, string session, WorkUnit unit, IReadOnlyList<string> relays,
        byte[]? coordinatorKey, CancellationToken ct)
    {
        var reply = await coordinator.GetChunkManifestAsync(new ChunkManifestRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId,
        }, deadline: DateTime.UtcNow + IdleTimeout, cancellationToken: ct);
        var manifest = ManifestOf(reply, unit, coordinatorKey);

        var faults = new List<string>();
        var sources = new List<RelayChunkSource>();
        foreach (var text in relays.Take(MaxRelaysTried))
        {
            if (!RelayAddressPolicy.TryParse(text, out var endpoint))
                faults.Add($"relay address '{Printable(text)}' is not an ip:port literal; not dialed");
            else if (!RelayAddressPolicy.MayConnect(endpoint.Address, _vantage))
                faults.Add($"relay {endpoint} is not an address a volunteer of this coordinator may dial (loopback or private); not dialed");
            else
                sources.Add(new RelayChunkSource(endpoint, new Protocol.V1.Relay.RelayClient(Channel(endpoint)), unit.ParametersSha256.Memory, manifest.ChunkBytes));
        }
        var options = new RelayDownloadOptions(Math.Max(1, sources.Count) * ChunksInFlightPerRelay, IdleTimeout, RelayDownloadOptions.Default.FailuresBeforeSkip);
        var result = await new RelayDownloader(options, _time).DownloadAsync(manifest, manifest.CoordinatorKey, sources,
            new CoordinatorChunkSource(coordinator, session, unit.WorkUnitId), ct);
        if (!System.Security.Cryptography.SHA256.HashData(result.Payload).AsSpan().SequenceEqual(unit.ParametersSha256.Span))
            throw new InvalidDataException($"the chunks of version {unit.ModelVersion} match the coordinator's manifest but not the unit's SHA-256; the coordinator's manifest is wrong, download in full.");

        var reports = new List<string>();
        foreach (var fault in result.Faults)
        {
            faults.Add($"relay {fault.Relay} {(fault.Kind == RelayFaultKind.HashMismatch ? "sent bad data" : "failed")} ({fault.Detail}); the chunk was fetched from another source");
            if (fault.Kind != RelayFaultKind.HashMismatch || sources.FirstOrDefault(r => r.Name == fault.Relay) is not { } liar) continue;
            reports.Add(await ReportAsync(coordinator, session, unit, manifest, liar, fault.Chunk, ct));
        }
        return new ChunkedFetchOutcome(result.Payload, result.BytesFromCoordinator, result.BytesFromRelays, faults, reports);
    }

    /// <summary>The coordinator's manifest of this unit's content, or why it cannot be used.</summary>
    private ChunkManifest ManifestOf(ChunkManifestReply reply, WorkUnit unit, byte[]? coordinatorKey)
    {
        if (reply.ModelVersion != unit.ModelVersion || !reply.ContentSha256.Span.SequenceEqual(unit.ParametersSha256.Span))
            throw new InvalidDataException($"the coordinator's manifest names version {reply.ModelVersion}, not the unit's {unit.ModelVersion} (or another content hash); download in full.");
        if (reply.TotalBytes > (ulong)_limits.MaxDownloadBytes)
            throw new InvalidDataException($"the manifest describes {reply.TotalBytes} bytes, over this volunteer's download limit of {_limits.MaxDownloadBytes}.");
        ChunkManifest manifest;
        try
        {
            manifest = ChunkManifest.FromParts(reply.ModelVersion, (long)reply.TotalBytes, (int)Math.Min(reply.ChunkBytes, int.MaxValue),
                [.. reply.ChunkSha256.Select(h => h.ToByteArray())], reply.CoordinatorKey.ToByteArray(), reply.Signature.ToByteArray());
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"the coordinator's manifest of version {reply.ModelVersion} is malformed: {e.Message}", e);
        }
        // With no pinned or learned key the manifest is as trusted as the channel it came on (the same one that named the unit's hash).
        if (!manifest.VerifySignature(coordinatorKey ?? manifest.CoordinatorKey))
            throw new InvalidDataException($"the manifest of version {reply.ModelVersion} is not signed by the coordinator's key; refusing to download with it.");
        return manifest;
    }

    /// <summary>Reports a relay's wrong chunk with its signature; returns the coordinator's verdict, or why the report failed (the download stands).</summary>
    private async Task<string> ReportAsync(RelayRegistry.RelayRegistryClient coordinator, string session, WorkUnit unit, ChunkManifest manifest, RelayChunkSource liar, int index,
        CancellationToken ct)
    {
        var evidence = liar.Evidence(index);
        try
        {
            var verdict = await coordinator.ReportRelayAsync(new RelayReportRequest
            {
                ProtocolVersion = ProtocolVersion.Current, SessionToken = session, Relay = liar.Name, ModelVersion = unit.ModelVersion,
                ContentSha256 = unit.ParametersSha256, ChunkBytes = (uint)manifest.ChunkBytes, Index = (uint)index,
                ReceivedSha256 = ByteString.CopyFrom(evidence?.DataSha256 ?? []), RelaySignature = ByteString.CopyFrom(evidence?.Signature ?? []),
            }, deadline: DateTime.UtcNow + IdleTimeout, cancellationToken: ct);
            return $"reported relay {liar.Name}: {verdict.Outcome}";
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            return $"report of relay {liar.Name} failed ({e.StatusCode}: {Printable(e.Status.Detail)})";
        }
    }

    private async Task<byte[]> FetchOneAsync(IPEndPoint endpoint, ulong version, ReadOnlyMemory<byte> sha256, CancellationToken ct)
    {
        using var total = new CancellationTokenSource(TotalTimeout, _time);
        using var idle = new CancellationTokenSource(IdleTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, total.Token, idle.Token);
        var client = new Protocol.V1.Relay.RelayClient(Channel(endpoint));
        using var call = client.FetchParameters(new RelayFetchRequest
        {
            ProtocolVersion = ProtocolVersion.Current,
            ModelVersion = version,
            ContentSha256 = ByteString.CopyFrom(sha256.Span),
        }, cancellationToken: linked.Token);
        var stream = call.ResponseStream;
        if (!await stream.MoveNext(linked.Token))
            throw new ProtocolException(RejectReason.TruncatedStream, "the stream ended before its metadata");
        idle.CancelAfter(IdleTimeout);
        if (stream.Current.PartCase != RelayChunk.PartOneofCase.Info)
            throw new ProtocolException(RejectReason.MalformedRequest, $"the first message is {stream.Current.PartCase}, not the payload info");
        var info = stream.Current.Info;
        if (info.ModelVersion != version || !info.ContentSha256.Span.SequenceEqual(sha256.Span))
            throw new ProtocolException(RejectReason.HashMismatch,
                $"it offers version {info.ModelVersion} with SHA-256 {Convert.ToHexStringLower(info.ContentSha256.Span)}, not the coordinator's version {version} with {Convert.ToHexStringLower(sha256.Span)}");
        using var assembler = new PayloadAssembler((long)Math.Min(info.TotalBytes, long.MaxValue), sha256.Span, _limits.MaxDownloadBytes, _limits.MaxChunkBytes,
            $"parameters of version {version} from relay {endpoint}");
        while (await stream.MoveNext(linked.Token))
        {
            idle.CancelAfter(IdleTimeout);
            var message = stream.Current;
            if (message.PartCase != RelayChunk.PartOneofCase.Data || message.Data.IsEmpty)
                throw new ProtocolException(RejectReason.MalformedRequest, $"after the info a relay sends non-empty data only; got {message.PartCase}");
            assembler.Append(message.Data.Span);
        }
        return assembler.Complete();
    }

    private GrpcChannel Channel(IPEndPoint endpoint) =>
        _channels.GetOrAdd(RelayAddressPolicy.Format(endpoint), key => GrpcChannel.ForAddress("http://" + key, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = _limits.MaxChunkBytes + (64 << 10),
        }));

    /// <summary>Relay-supplied text for a log line: no control characters, bounded length.</summary>
    private static string Printable(string text)
    {
        const int MaxChars = 200;
        var cut = text.Length > MaxChars ? text[..MaxChars] + "…" : text;
        return string.Concat(cut.Select(c => char.IsControl(c) ? '?' : c));
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values) channel.Dispose();
        _channels.Clear();
    }
}
