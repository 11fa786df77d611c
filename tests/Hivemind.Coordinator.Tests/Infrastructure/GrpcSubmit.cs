using Google.Protobuf;
using Grpc.Core;
using Hivemind.Protocol;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Work;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>Streams a signed update to SubmitUpdate as the given chunks, the way a hand-written client would, and returns the reply.</summary>
public static class GrpcSubmit
{
    public static async Task<SubmitReply> SendAsync(Protocol.V1.Coordinator.CoordinatorClient client, string session, TrainedUpdate update, IEnumerable<byte[]> chunks)
    {
        using var call = client.SubmitUpdate();
        var header = new UpdateChunk
        {
            Header = new UpdateHeader
            {
                ProtocolVersion = ProtocolVersion.Current, SessionToken = session,
                Envelope = ByteString.CopyFrom(update.Envelope.Bytes), Signature = ByteString.CopyFrom(update.Envelope.Signature),
            },
        };
        return await UpdateStream.SendAsync(call, chunks.Select(c => new UpdateChunk { Data = ByteString.CopyFrom(c) }).Prepend(header));
    }
}
