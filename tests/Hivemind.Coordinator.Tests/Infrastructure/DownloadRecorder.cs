using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Hivemind.Protocol.V1;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>
/// A client interceptor that keeps every work unit and every download a volunteer received, exactly as they came off the wire.
/// Two optional hooks play a man in the middle: <paramref name="alterUnit"/> replaces a work reply that carries a unit, and
/// <paramref name="alterDownload"/> (given the download's index, its metadata and its whole payload) may return other metadata and
/// payload, which then reach the volunteer as one metadata message and one data message. What is recorded is always the original.
/// </summary>
public sealed class DownloadRecorder(
    Func<WorkReply, WorkReply>? alterUnit = null,
    Func<int, ParameterMetadata, byte[], (ParameterMetadata Metadata, byte[] Payload)?>? alterDownload = null) : Interceptor
{
    private readonly List<WorkReply> _units = [];
    private readonly List<(DownloadRequest, ParameterMetadata, byte[])> _downloads = [];

    /// <summary>The replies that carried a work unit, in order.</summary>
    public IReadOnlyList<WorkReply> Units
    {
        get { lock (_units) return [.. _units]; }
    }

    /// <summary>Each download's request, metadata and payload (the data messages concatenated), in order.</summary>
    public IReadOnlyList<(DownloadRequest Request, ParameterMetadata Metadata, byte[] Payload)> Downloads
    {
        get { lock (_downloads) return [.. _downloads]; }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(RecordUnit(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private async Task<TResponse> RecordUnit<TResponse>(Task<TResponse> response)
    {
        var reply = await response.ConfigureAwait(false);
        if (reply is not WorkReply { ResultCase: WorkReply.ResultOneofCase.WorkUnit } work) return reply;
        lock (_units) _units.Add(work.Clone());
        return alterUnit is null ? reply : (TResponse)(object)alterUnit(work.Clone());
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        if (request is not DownloadRequest download) return call;
        var reader = new Replay<TResponse>(async () =>
        {
            var messages = new List<DownloadChunk>();
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) messages.Add((DownloadChunk)(object)call.ResponseStream.Current!);
            if (messages.Count == 0) return [];
            var metadata = messages[0].Metadata;
            byte[] payload = [.. messages.Skip(1).SelectMany(m => m.Data.ToByteArray())];
            int index;
            lock (_downloads)
            {
                index = _downloads.Count;
                _downloads.Add((download.Clone(), metadata.Clone(), payload));
            }
            if (alterDownload?.Invoke(index, metadata.Clone(), (byte[])payload.Clone()) is { } altered)
                messages = [new DownloadChunk { Metadata = altered.Metadata }, new DownloadChunk { Data = ByteString.CopyFrom(altered.Payload) }];
            return messages.Cast<TResponse>().ToList();
        });
        return new AsyncServerStreamingCall<TResponse>(reader, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <summary>Serves messages read (and perhaps altered) in full before the first one is handed on.</summary>
    private sealed class Replay<T>(Func<Task<List<T>>> read) : IAsyncStreamReader<T>
    {
        private List<T>? _messages;
        private int _next = -1;

        public T Current => _messages![_next];

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            _messages ??= await read();
            return ++_next < _messages.Count;
        }
    }
}
