using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using Hivemind.Protocol;
using Hivemind.Protocol.Relays;
using Hivemind.Protocol.V1;

namespace Hivemind.Volunteer.Relay;

/// <summary>One relay as a chunk source (Relay/FetchChunk); keeps the relay's signature on every chunk it sent, the evidence a report carries.</summary>
public sealed class RelayChunkSource(IPEndPoint endpoint, Protocol.V1.Relay.RelayClient client, ReadOnlyMemory<byte> contentSha256, int chunkBytes) : IChunkSource
{
    private readonly ConcurrentDictionary<int, (byte[] DataSha256, byte[] Signature)> _evidence = new();

    public IPEndPoint Endpoint => endpoint;

    public string Name { get; } = RelayAddressPolicy.Format(endpoint);

    public async Task<byte[]> FetchAsync(ulong version, int index, CancellationToken ct)
    {
        var reply = await client.FetchChunkAsync(new RelayChunkRequest
        {
            ProtocolVersion = ProtocolVersion.Current,
            ModelVersion = version,
            ContentSha256 = ByteString.CopyFrom(contentSha256.Span),
            ChunkBytes = (uint)chunkBytes,
            Index = (uint)index,
        }, cancellationToken: ct);
        var data = reply.Data.ToByteArray();
        _evidence[index] = (SHA256.HashData(data), reply.Signature.ToByteArray());
        return data;
    }

    /// <summary>The hash of what this relay sent for chunk <paramref name="index"/> and its signature over it, if it sent anything.</summary>
    public (byte[] DataSha256, byte[] Signature)? Evidence(int index) => _evidence.TryGetValue(index, out var e) ? e : null;
}
