using Google.Protobuf;
using Grpc.Core;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.V1;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// Serves the token slices work units name (data.proto). The engine checks the session, the name, the lease and the range
/// before a byte is read; rejections become statuses with a reason trailer in <see cref="RejectionInterceptor"/>.
/// </summary>
public sealed class DataDistributionService(CoordinatorEngine engine) : DataDistribution.DataDistributionBase
{
    /// <inheritdoc/>
    public override async Task DownloadData(DataRequest request, IServerStreamWriter<DataChunk> responseStream, ServerCallContext context)
    {
        ProtocolVersion.Require(request.ProtocolVersion);
        var (slice, offset, length) = engine.AuthorizeDataDownload(request.SessionToken, request.SliceSha256, request.Offset, request.Length);
        var buffer = new byte[(int)Math.Min(ProtocolLimits.DefaultChunkBytes, length)];
        long end = offset + length;
        for (long at = offset; at < end; at += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, end - at);
            engine.Text!.Read(slice, at, buffer.AsSpan(0, n));
            await responseStream.WriteAsync(new DataChunk { Data = ByteString.CopyFrom(buffer, 0, n), SliceBytes = (ulong)slice.ByteLength }, context.CancellationToken);
            engine.CountBytesSent(n);
        }
    }
}
