using Grpc.Core;

namespace Hivemind.Protocol.Tests.Streaming;

/// <summary>An <see cref="IAsyncStreamReader{T}"/> over a fixed list, standing in for a gRPC stream.</summary>
internal sealed class ListStreamReader<T>(IEnumerable<T> messages) : IAsyncStreamReader<T>
{
    private readonly IEnumerator<T> _messages = messages.GetEnumerator();

    public T Current => _messages.Current;

    public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromResult(_messages.MoveNext());
}
