using Google.Protobuf;
using Grpc.Core;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.V1;

namespace Hivemind.Protocol.Streaming;

/// <summary>Both ends of the DownloadParameters server stream: metadata first, then payload chunks.</summary>
public static class DownloadStream
{
    /// <summary>The messages a coordinator sends. Chunks wrap <paramref name="payload"/> without copying: keep it unchanged (it is a cached, immutable version).</summary>
    public static IEnumerable<DownloadChunk> Messages(ParameterMetadata metadata, ReadOnlyMemory<byte> payload, int chunkBytes = ProtocolLimits.DefaultChunkBytes)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata.TotalBytes != (ulong)payload.Length)
            throw new ArgumentException($"the metadata declares {metadata.TotalBytes} bytes but the payload has {payload.Length}.", nameof(metadata));
        yield return new DownloadChunk { Metadata = metadata };
        foreach (var chunk in PayloadChunker.Split(payload, chunkBytes))
            yield return new DownloadChunk { Data = UnsafeByteOperations.UnsafeWrap(chunk) };
    }

    /// <summary>Sends the download; <paramref name="sent"/> hears the payload bytes handed to the transport after each chunk.</summary>
    public static async Task WriteAsync(IServerStreamWriter<DownloadChunk> writer, ParameterMetadata metadata, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken,
        int chunkBytes = ProtocolLimits.DefaultChunkBytes, IProgress<long>? sent = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        long done = 0;
        foreach (var message in Messages(metadata, payload, chunkBytes))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await writer.WriteAsync(message).ConfigureAwait(false);
            if (message.PartCase != DownloadChunk.PartOneofCase.Data) continue;
            done += message.Data.Length;
            sent?.Report(done);
        }
    }

    /// <summary>Reads a download on the volunteer: metadata, then the payload checked against the declared length and SHA-256.</summary>
    public static async Task<(ParameterMetadata Metadata, byte[] Payload)> ReadAsync(IAsyncStreamReader<DownloadChunk> responseStream, ProtocolLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(limits);
        if (!await responseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            throw new ProtocolException(RejectReason.TruncatedStream, "the parameter download ended before its metadata");
        if (responseStream.Current.PartCase != DownloadChunk.PartOneofCase.Metadata)
            throw new ProtocolException(RejectReason.MalformedRequest, $"the first message of a download is {responseStream.Current.PartCase}, it must be the metadata");
        var metadata = responseStream.Current.Metadata;
        if (metadata.TotalBytes > (ulong)limits.MaxDownloadBytes)
            throw new ProtocolException(RejectReason.Oversized, $"the download declares {metadata.TotalBytes} bytes, above the limit of {limits.MaxDownloadBytes}");
        using var assembler = new PayloadAssembler((long)metadata.TotalBytes, metadata.ContentSha256.Span, limits.MaxDownloadBytes, limits.MaxChunkBytes, $"parameters of version {metadata.ModelVersion}");
        while (await responseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var message = responseStream.Current;
            if (message.PartCase != DownloadChunk.PartOneofCase.Data || message.Data.IsEmpty)
                throw new ProtocolException(RejectReason.MalformedRequest, $"a download carries metadata once, then non-empty data; got {message.PartCase} after {assembler.ReceivedLength} bytes");
            assembler.Append(message.Data.Span);
        }
        return (metadata, assembler.Complete());
    }
}
