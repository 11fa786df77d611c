using Grpc.Core;
using Grpc.Core.Interceptors;
using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// What every RPC does with a failure, in one place: a <see cref="ProtocolException"/> becomes its status plus the
/// <c>hivemind-reason</c> trailer; gRPC's own refusal of an oversized message gets the <c>oversized</c> trailer; a storage failure gets
/// <c>coordinator-storage</c>. So no rejection leaves the coordinator without a reason token.
/// </summary>
public sealed class RejectionInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (Map(e) is { } rpc)
        {
            throw rpc;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception e) when (Map(e) is { } rpc)
        {
            throw rpc;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (Map(e) is { } rpc)
        {
            throw rpc;
        }
    }

    /// <summary>The RpcException to send instead of <paramref name="e"/>, or null to let it through unchanged.</summary>
    public static RpcException? Map(Exception e) => e switch
    {
        ProtocolException p => p.ToRpcException(),
        RpcException { StatusCode: StatusCode.ResourceExhausted } r when r.Trailers.GetValue(RejectReasons.TrailerKey) is null =>
            RejectReasons.ToRpcException(RejectReason.Oversized, r.Status.Detail),
        InvalidDataException d => RejectReasons.ToRpcException(RejectReason.Oversized, d.Message),
        Microsoft.Data.Sqlite.SqliteException sql => RejectReasons.ToRpcException(RejectReason.CoordinatorStorage, $"the coordinator's store failed (SQLite error {sql.SqliteErrorCode})"),
        _ => null,
    };
}
