using Grpc.Core;
using Grpc.Core.Interceptors;
using Hivemind.Protocol.V1;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>A client interceptor that keeps every WorkReply a volunteer received, exactly as it came off the wire.</summary>
public sealed class WorkReplyRecorder : Interceptor
{
    private readonly List<WorkReply> _replies = [];

    /// <summary>The replies that carried a work unit, in order.</summary>
    public IReadOnlyList<WorkReply> Units
    {
        get { lock (_replies) return _replies.Where(r => r.ResultCase == WorkReply.ResultOneofCase.WorkUnit).ToList(); }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(Record(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private async Task<TResponse> Record<TResponse>(Task<TResponse> response)
    {
        var reply = await response.ConfigureAwait(false);
        if (reply is WorkReply work)
        {
            lock (_replies) _replies.Add(work.Clone());
        }
        return reply;
    }
}
