using System.Net;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Relays;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Relay;

namespace Hivemind.Coordinator.Relays;

/// <summary>
/// Judges reports of relays that served a chunk not matching the manifest (relay.proto, "Evidence"). The coordinator believes only
/// what it can check: its own manifest says what the chunk's hash is, and the relay's key (its volunteer id) says whether the relay
/// signed the hash the reporter names. A valid signature over a wrong hash drops the relay at once; an unsigned claim counts once per
/// distinct reporter, so one volunteer, however often it reports, can never have an honest relay dropped.
/// </summary>
public sealed class RelayReports(RelayDirectory directory, ChunkManifestBook manifests)
{
    /// <summary>Distinct volunteers whose unproven reports (no valid relay signature) drop a relay.</summary>
    public const int UnprovenReportersToDrop = 3;

    private const int HashBytes = 32;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<string>> _unproven = new(StringComparer.Ordinal);

    /// <summary>Reports judged to be proofs so far (a relay's own signature over a wrong chunk).</summary>
    public int Proven { get; private set; }

    /// <summary>Judges <paramref name="request"/> from <paramref name="reporterId"/>; a malformed report changes nothing.</summary>
    /// <exception cref="ProtocolException">The report names no listed relay or issued manifest, or a chunk or hash that cannot be.</exception>
    public RelayReportReply Judge(string reporterId, RelayReportRequest request)
    {
        if (!RelayAddressPolicy.TryParse(request.Relay, out var endpoint))
            throw new ProtocolException(RejectReason.MalformedRequest, $"relay '{Clip(request.Relay)}' is not an ip:port; report the address the work reply listed");
        var manifest = manifests.Find(request.ModelVersion, request.ContentSha256.Span)
            ?? throw new ProtocolException(RejectReason.MalformedRequest,
                $"no manifest of version {request.ModelVersion} with that content SHA-256 was issued here (or it is older than the previous version); nothing to judge against");
        if (request.ChunkBytes != manifest.ChunkBytes || request.Index >= manifest.ChunkCount)
            throw new ProtocolException(RejectReason.MalformedRequest,
                $"chunk {request.Index} of {request.ChunkBytes} bytes is not in the manifest (chunks 0..{manifest.ChunkCount - 1} of {manifest.ChunkBytes} bytes)");
        if (request.ReceivedSha256.Length != HashBytes)
            throw new ProtocolException(RejectReason.MalformedRequest, $"received_sha256 has {request.ReceivedSha256.Length} bytes; send the {HashBytes}-byte SHA-256 of what the relay sent");
        var relayId = directory.FindLive(endpoint);
        if (relayId is null)
        {
            var already = FindDropped(endpoint);
            if (already is not null) return Reply(false, true, $"relay {endpoint} was already dropped ({already})");
            throw new ProtocolException(RejectReason.MalformedRequest, $"no relay is listed at {endpoint}; report only relays a work reply named, while they are listed");
        }
        int index = (int)request.Index;
        if (manifest.HashOf(index).AsSpan().SequenceEqual(request.ReceivedSha256.Span))
            return Reply(false, false, $"chunk {index} with that hash is the coordinator's own; the relay served it correctly, nothing is counted");

        bool signed = RelayChunkSignature.Verify(Convert.FromHexString(relayId), request.ModelVersion, request.ContentSha256.Span, manifest.ChunkBytes, index,
            request.ReceivedSha256.Span, request.RelaySignature.Span);
        if (signed)
        {
            var why = $"it signed chunk {index} of version {request.ModelVersion} with a SHA-256 that is not the coordinator's";
            directory.Drop(relayId, why);
            lock (_gate)
            {
                Proven++;
                _unproven.Remove(relayId);
            }
            return Reply(true, true, $"relay {endpoint} dropped: {why} (its own signature proves it)");
        }
        int reporters;
        lock (_gate)
        {
            if (!_unproven.TryGetValue(relayId, out var set)) _unproven[relayId] = set = new HashSet<string>(StringComparer.Ordinal);
            set.Add(reporterId);
            reporters = set.Count;
        }
        if (reporters >= UnprovenReportersToDrop)
        {
            directory.Drop(relayId, $"{reporters} distinct volunteers reported bad chunks it did not sign");
            return Reply(false, true, $"relay {endpoint} dropped: {reporters} distinct volunteers reported bad chunks without a valid signature");
        }
        return Reply(false, false,
            $"the report carries no valid signature of relay {endpoint}, so it proves nothing; counted once for this volunteer ({reporters} of the {UnprovenReportersToDrop} distinct reporters that drop a relay)");
    }

    private string? FindDropped(IPEndPoint endpoint) => directory.DroppedAt(endpoint);

    private static RelayReportReply Reply(bool proven, bool dropped, string outcome) =>
        new() { ProtocolVersion = Protocol.ProtocolVersion.Current, Proven = proven, Dropped = dropped, Outcome = outcome };

    private static string Clip(string text) => text.Length > 64 ? text[..64] + "…" : text;
}
