using Grpc.Core;
using Hivemind.Protocol.V1;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// Binds the generated Coordinator service as it is, except that SubmitUpdate reads its messages with <see cref="InPlaceUpdateChunks"/>
/// (see <see cref="CoordinatorService.BindService"/>).
/// </summary>
internal sealed class SubmitUpdateBinder(ServiceBinderBase inner) : ServiceBinderBase
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(method, handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
    {
        if (method is Method<UpdateChunk, SubmitReply> submit && method.Name == nameof(CoordinatorService.SubmitUpdate))
            method = (Method<TRequest, TResponse>)(object)InPlaceUpdateChunks.Method(submit);
        inner.AddMethod(method, handler);
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(method, handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(method, handler);
}
