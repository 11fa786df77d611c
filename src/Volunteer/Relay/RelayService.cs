using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Relays;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;

namespace Hivemind.Volunteer.Relay;

/// <summary>The gRPC relay a volunteer runs with <c>--relay</c>: proves its key and streams the payloads it holds.</summary>
public sealed class RelayService(RelayHoldings holdings, VolunteerIdentity identity, RelayOptions options, UploadLimiter limiter) : Protocol.V1.Relay.RelayBase
{
    private readonly SemaphoreSlim _streams = new(options.MaxStreams, options.MaxStreams);
    private long _bytesServed;

    /// <summary>Payload bytes streamed to downloaders since start.</summary>
    public long BytesServed => Interlocked.Read(ref _bytesServed);

    public override Task<RelayIdentifyReply> Identify(RelayIdentifyRequest request, ServerCallContext context)
    {
        if (request.Nonce.Length != RelayIdentity.NonceBytes)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the nonce has {request.Nonce.Length} bytes; send {RelayIdentity.NonceBytes} random bytes."));
        return Task.FromResult(new RelayIdentifyReply
        {
            ProtocolVersion = ProtocolVersion.Current,
            PublicKey = ByteString.CopyFrom(identity.PublicKey),
            Signature = ByteString.CopyFrom(RelayIdentity.Sign(identity, request.Nonce.Span)),
        });
    }

    public override async Task FetchParameters(RelayFetchRequest request, IServerStreamWriter<RelayChunk> responseStream, ServerCallContext context)
    {
        if (request.ContentSha256.Length != SHA256.HashSizeInBytes)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"content_sha256 has {request.ContentSha256.Length} bytes; send the unit's 32-byte parameters_sha256."));
        if (!await _streams.WaitAsync(0, context.CancellationToken))
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"this relay already serves {options.MaxStreams} downloads; download from the coordinator."));
        try
        {
            var payload = await holdings.WaitAsync(request.ModelVersion, request.ContentSha256.Memory, context.CancellationToken)
                ?? throw new RpcException(new Status(StatusCode.NotFound,
                    $"this relay does not hold version {request.ModelVersion} with SHA-256 {Convert.ToHexStringLower(request.ContentSha256.Span)[..12]}…; download from the coordinator."));
            await responseStream.WriteAsync(new RelayChunk
            {
                Info = new RelayPayloadInfo { ModelVersion = request.ModelVersion, ContentSha256 = request.ContentSha256, TotalBytes = (ulong)payload.LongLength },
            });
            foreach (var chunk in PayloadChunker.Split(payload))
            {
                await limiter.TakeAsync(chunk.Length, context.CancellationToken);
                await responseStream.WriteAsync(new RelayChunk { Data = UnsafeByteOperations.UnsafeWrap(chunk) });
                Interlocked.Add(ref _bytesServed, chunk.Length);
            }
        }
        finally
        {
            _streams.Release();
        }
    }

    public override async Task<RelayChunkReply> FetchChunk(RelayChunkRequest request, ServerCallContext context)
    {
        if (request.ContentSha256.Length != SHA256.HashSizeInBytes)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"content_sha256 has {request.ContentSha256.Length} bytes; send the unit's 32-byte parameters_sha256."));
        if (request.ChunkBytes < 1 || request.ChunkBytes > ProtocolLimits.Default.MaxChunkBytes)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"chunk_bytes {request.ChunkBytes} is out of range; send the manifest's chunk size, 1..{ProtocolLimits.Default.MaxChunkBytes}."));
        // A chunk is short work (the upload cap paces it anyway), so a busy relay queues a chunk request for a while instead of refusing it
        // at once, as it does a whole-payload stream: several downloaders splitting one version over the same relays is the normal case.
        if (!await _streams.WaitAsync(options.WaitForDownload, context.CancellationToken))
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"this relay served {options.MaxStreams} requests for {options.WaitForDownload.TotalSeconds:0} s; fetch the chunk elsewhere."));
        try
        {
            var payload = await holdings.WaitAsync(request.ModelVersion, request.ContentSha256.Memory, context.CancellationToken)
                ?? throw new RpcException(new Status(StatusCode.NotFound,
                    $"this relay does not hold version {request.ModelVersion} with SHA-256 {Convert.ToHexStringLower(request.ContentSha256.Span)[..12]}…; fetch the chunk elsewhere."));
            long offset = (long)request.Index * request.ChunkBytes;
            if (offset >= payload.LongLength)
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"chunk {request.Index} of {request.ChunkBytes} bytes starts past the payload's {payload.LongLength} bytes."));
            int length = (int)Math.Min(request.ChunkBytes, payload.LongLength - offset);
            await limiter.TakeAsync(length, context.CancellationToken);
            var data = payload.AsMemory((int)offset, length);
            var signature = RelayChunkSignature.Sign(identity, request.ModelVersion, request.ContentSha256.Span, (int)request.ChunkBytes, (int)request.Index,
                SHA256.HashData(data.Span));
            Interlocked.Add(ref _bytesServed, length);
            return new RelayChunkReply { Data = UnsafeByteOperations.UnsafeWrap(data), Signature = ByteString.CopyFrom(signature) };
        }
        finally
        {
            _streams.Release();
        }
    }
}
