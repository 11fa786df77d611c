using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.V1;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// The coordinator's reader of SubmitUpdate messages. While a payload streams into an <see cref="IncomingPayload"/>, a data chunk
/// is parsed straight into the place in its buffer where the chunk's bytes go next, and the message handed on wraps that place
/// (the protocol's reader sees it already there and does not copy it). The generated parser would allocate (and zero) a fresh array
/// per chunk and the reader would copy it again: two passes over every payload byte and 1 MiB of garbage per chunk, on the two cores
/// the stream itself needs. Every other message (the header, a chunk that is not a lone non-empty data field, one beyond the payload's
/// length or the chunk limit) goes through the generated parser, so the reader's checks and messages are exactly as before.
/// </summary>
public static class InPlaceUpdateChunks
{
    /// <summary>Field 2 (<c>data</c>), wire type 2 (length-delimited).</summary>
    private const byte DataTag = (2 << 3) | 2;

    /// <summary>Varint bytes of a length below 2^28: four; a chunk's length is far below it.</summary>
    private const int MaxLengthBytes = 4;

    private static readonly AsyncLocal<Target?> Current = new();

    /// <summary>The SubmitUpdate method with this reader as its request deserializer (the serializer stays the generated one).</summary>
    public static Method<UpdateChunk, SubmitReply> Method(Method<UpdateChunk, SubmitReply> generated) =>
        new(generated.Type, generated.ServiceName, generated.Name,
            Marshallers.Create(generated.RequestMarshaller.ContextualSerializer, Deserialize), generated.ResponseMarshaller);

    /// <summary>
    /// Until disposed, data chunks read on this call's flow go straight into <paramref name="payload"/> (at most
    /// <paramref name="maxChunkBytes"/> each, the limit the protocol's reader enforces).
    /// </summary>
    public static IDisposable Into(IncomingPayload payload, int maxChunkBytes)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var previous = Current.Value;
        Current.Value = new Target(payload, maxChunkBytes);
        return new Restore(previous);
    }

    /// <summary>Parses one SubmitUpdate message: in place when it is a data chunk that fits the current payload, else as the generated parser does.</summary>
    public static UpdateChunk Deserialize(DeserializationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var message = context.PayloadAsReadOnlySequence();
        return Current.Value is { } target && TryParseInPlace(message, target) is { } chunk ? chunk : UpdateChunk.Parser.ParseFrom(message);
    }

    private static UpdateChunk? TryParseInPlace(ReadOnlySequence<byte> message, Target target)
    {
        var reader = new SequenceReader<byte>(message);
        if (!reader.TryRead(out byte tag) || tag != DataTag) return null;
        long length = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (shift == 7 * MaxLengthBytes || !reader.TryRead(out byte b)) return null;
            length |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) break;
        }
        // Exactly one field, the data: anything more (another field, a repeated one) keeps the generated parser's meaning.
        if (length <= 0 || reader.Remaining != length || length > target.MaxChunkBytes) return null;
        var payload = target.Payload;
        long at = payload.Received;
        if (length > payload.Length - at) return null; // beyond the announced length: the reader refuses it, with its own message
        var destination = payload.Buffer.Slice((int)at, (int)length);
        message.Slice(reader.Position).CopyTo(destination.Span);
        return new UpdateChunk { Data = UnsafeByteOperations.UnsafeWrap(destination) };
    }

    private sealed record Target(IncomingPayload Payload, int MaxChunkBytes);

    private sealed class Restore(Target? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}
