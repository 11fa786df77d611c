using Grpc.Core;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;

namespace Hivemind.Protocol.Tests.Streaming;

/// <summary>
/// The coordinator refuses an update from its envelope and ends the call while the client still writes payload chunks. Depending on
/// timing the next write fails in one of several ways (CI once saw HTTP/2's STREAM_CLOSED as an <see cref="HttpRequestException"/>);
/// the client must still read the coordinator's answer and its reason trailer, not report the transport's error.
/// </summary>
public sealed class UpdateStreamSendTests
{
    public static TheoryData<string> WriteFailures() => ["http", "io", "rpc", "completed"];

    private static Exception Failure(string kind) => kind switch
    {
        "http" => new HttpRequestException("The request was aborted.", new IOException("The HTTP/2 server closed the connection. HTTP/2 error code 'STREAM_CLOSED' (0x5).")),
        "io" => new IOException("broken pipe"),
        "rpc" => new RpcException(new Status(StatusCode.Cancelled, "call completed")),
        _ => new InvalidOperationException("Can't write the message because the call is complete."),
    };

    [Theory]
    [MemberData(nameof(WriteFailures))]
    public async Task AWriteFailingAfterTheCoordinatorAnsweredYieldsTheCoordinatorsRejection(string kind)
    {
        var refusal = RejectReasons.ToRpcException(RejectReason.Equivocation, "different signed content for unit r1-u1");
        var writer = new FailingWriter(failAfter: 1, Failure(kind));
        using var call = new AsyncClientStreamingCall<UpdateChunk, SubmitReply>(
            writer, Task.FromException<SubmitReply>(refusal), Task.FromResult(new Metadata()), () => refusal.Status, () => refusal.Trailers, () => { });

        var messages = Enumerable.Range(0, 5).Select(i => new UpdateChunk { Data = Google.Protobuf.ByteString.CopyFrom([(byte)i]) });
        var e = await Assert.ThrowsAsync<RpcException>(() => UpdateStream.SendAsync(call, messages));

        Assert.True(RejectReasons.TryGetReason(e, out var reason));
        Assert.Equal(RejectReason.Equivocation, reason);
        Assert.Equal(2, writer.Attempts);
        Assert.False(writer.Completed);
    }

    [Fact]
    public async Task AnUnrelatedClientBugIsNotSwallowed()
    {
        var writer = new FailingWriter(failAfter: 0, new ArgumentException("a bug in the caller"));
        using var call = new AsyncClientStreamingCall<UpdateChunk, SubmitReply>(
            writer, Task.FromResult(new SubmitReply()), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        await Assert.ThrowsAsync<ArgumentException>(() => UpdateStream.SendAsync(call, [new UpdateChunk()]));
    }

    [Fact]
    public async Task AFullStreamIsCompletedAndItsReplyReturned()
    {
        var writer = new FailingWriter(failAfter: int.MaxValue, new IOException("unused"));
        var accepted = new SubmitReply { Accepted = true, UpdateId = "u-7" };
        using var call = new AsyncClientStreamingCall<UpdateChunk, SubmitReply>(
            writer, Task.FromResult(accepted), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        var reply = await UpdateStream.SendAsync(call, [new UpdateChunk(), new UpdateChunk()]);
        Assert.Same(accepted, reply);
        Assert.Equal(2, writer.Attempts);
        Assert.True(writer.Completed);
    }

    private sealed class FailingWriter(int failAfter, Exception failure) : IClientStreamWriter<UpdateChunk>
    {
        public int Attempts { get; private set; }
        public bool Completed { get; private set; }
        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(UpdateChunk message)
        {
            Attempts++;
            return Attempts > failAfter ? Task.FromException(failure) : Task.CompletedTask;
        }

        public Task CompleteAsync()
        {
            Completed = true;
            return Task.CompletedTask;
        }
    }
}
