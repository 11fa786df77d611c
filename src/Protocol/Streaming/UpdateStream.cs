using Google.Protobuf;
using Grpc.Core;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.V1;

namespace Hivemind.Protocol.Streaming;

/// <summary>Both ends of the SubmitUpdate client stream: header message with the signed envelope first, then payload chunks.</summary>
public static class UpdateStream
{
    /// <summary>The messages a volunteer sends. Chunks wrap <paramref name="payload"/> without copying: do not change it until sent.</summary>
    public static IEnumerable<UpdateChunk> Messages(string sessionToken, SignedEnvelope signed, ReadOnlyMemory<byte> payload, int chunkBytes = ProtocolLimits.DefaultChunkBytes)
    {
        ArgumentNullException.ThrowIfNull(sessionToken);
        ArgumentNullException.ThrowIfNull(signed);
        if ((ulong)payload.Length != signed.Envelope.PayloadLength)
            throw new ArgumentException($"the payload has {payload.Length} bytes but the envelope declares {signed.Envelope.PayloadLength}.", nameof(payload));
        yield return new UpdateChunk
        {
            Header = new UpdateHeader
            {
                ProtocolVersion = ProtocolVersion.Current,
                SessionToken = sessionToken,
                Envelope = ByteString.CopyFrom(signed.Bytes),
                Signature = ByteString.CopyFrom(signed.Signature),
            },
        };
        foreach (var chunk in PayloadChunker.Split(payload, chunkBytes))
            yield return new UpdateChunk { Data = UnsafeByteOperations.UnsafeWrap(chunk) };
    }

    /// <summary>
    /// Sends <paramref name="messages"/> on a SubmitUpdate call and returns the coordinator's reply, or throws its <see cref="RpcException"/>.
    /// The coordinator refuses many updates from their envelope alone (verify before read) and ends the call while the client is still
    /// writing; the failed write then surfaces as an <see cref="RpcException"/>, <see cref="HttpRequestException"/> (the HTTP/2 stream
    /// closed), <see cref="IOException"/> or <see cref="InvalidOperationException"/> (the call already completed), depending on timing.
    /// Any of those means "read the answer": the response carries the status and its <c>hivemind-reason</c> trailer.
    /// </summary>
    public static async Task<SubmitReply> SendAsync(AsyncClientStreamingCall<UpdateChunk, SubmitReply> call, IEnumerable<UpdateChunk> messages)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(messages);
        try
        {
            foreach (var message in messages)
                await call.RequestStream.WriteAsync(message).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (IsEarlyAnswer(e))
        {
            // The coordinator answered before reading the whole stream: its answer is in the response below.
        }
        return await call.ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>True for the exceptions a client-stream write throws when the server has already ended the call (see <see cref="SendAsync"/>).</summary>
    public static bool IsEarlyAnswer(Exception e) => e is RpcException or HttpRequestException or IOException or InvalidOperationException;

    /// <summary>
    /// Reads a SubmitUpdate stream on the coordinator. The envelope is decoded and its signature verified before any payload is read;
    /// <paramref name="onEnvelope"/> then runs the caller's checks (session, lease, round...) and throws to reject early.
    /// Throws <see cref="ProtocolException"/> for every stream-level failure.
    /// </summary>
    public static async Task<ReceivedUpdate> ReadAsync(
        IAsyncStreamReader<UpdateChunk> requestStream,
        ProtocolLimits limits,
        Func<UpdateHeader, SignedEnvelope, CancellationToken, ValueTask>? onEnvelope,
        CancellationToken cancellationToken)
    {
        var (header, signed) = await ReadHeaderAsync(requestStream, limits, cancellationToken).ConfigureAwait(false);
        if (onEnvelope is not null) await onEnvelope(header, signed, cancellationToken).ConfigureAwait(false);
        var envelope = signed.Envelope;
        if (envelope.PayloadLength > (ulong)limits.MaxUpdateBytes)
            throw new ProtocolException(RejectReason.Oversized, $"the envelope declares a {envelope.PayloadLength}-byte payload, above the limit of {limits.MaxUpdateBytes}");
        byte[] payload = await ReadPayloadAsync(requestStream, envelope, (long)envelope.PayloadLength, limits, lengthIsVerified: false, cancellationToken).ConfigureAwait(false);
        return new ReceivedUpdate(header.SessionToken, signed, payload);
    }

    /// <summary>
    /// The first message of an update stream: checks its shape (field sizes within limits) before decoding the envelope, then
    /// decodes it and verifies its signature with the key it names. Reads no payload byte.
    /// </summary>
    public static async Task<(UpdateHeader Header, SignedEnvelope Envelope)> ReadHeaderAsync(
        IAsyncStreamReader<UpdateChunk> requestStream, ProtocolLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(limits);
        if (!await MoveNextAsync(requestStream, limits, 0, cancellationToken).ConfigureAwait(false))
            throw new ProtocolException(RejectReason.TruncatedStream, "the update stream ended before its header");
        var first = requestStream.Current;
        if (first.PartCase != UpdateChunk.PartOneofCase.Header)
            throw new ProtocolException(RejectReason.MalformedRequest, $"the first message of an update stream is {first.PartCase}, it must be the header");
        var header = first.Header;
        if (!ProtocolVersion.IsSupported(header.ProtocolVersion))
            throw new ProtocolException(RejectReason.ProtocolMismatch, $"client protocol version {header.ProtocolVersion} is not served; this coordinator speaks {ProtocolVersion.Minimum}..{ProtocolVersion.Current}");
        if (header.SessionToken.Length > limits.MaxSessionTokenLength)
            throw new ProtocolException(RejectReason.MalformedRequest, $"the session token has {header.SessionToken.Length} characters; tokens this coordinator issues have at most {limits.MaxSessionTokenLength}");
        if (header.Envelope.Length > limits.MaxEnvelopeBytes)
            throw new ProtocolException(RejectReason.Oversized, $"the envelope has {header.Envelope.Length} bytes; the limit is {limits.MaxEnvelopeBytes}");
        var signed = EnvelopeSigner.Open(header.Envelope.Memory, header.Signature.Memory, limits);
        return (header, signed);
    }

    /// <summary>
    /// Reads the data chunks that follow the header into one buffer of exactly <paramref name="expectedLength"/> bytes, hashing as they
    /// arrive. Rejects a chunk the moment the stream passes the expected length (<see cref="RejectReason.Oversized"/>), a stream that ends
    /// short (<see cref="RejectReason.TruncatedStream"/>) and a hash that differs from the envelope's (<see cref="RejectReason.HashMismatch"/>).
    /// </summary>
    /// <param name="lengthIsVerified">True when the reader computed <paramref name="expectedLength"/> itself (not the sender's claim): the buffer is allocated at once.</param>
    public static async Task<byte[]> ReadPayloadAsync(
        IAsyncStreamReader<UpdateChunk> requestStream, UpdateEnvelope envelope, long expectedLength, ProtocolLimits limits, bool lengthIsVerified,
        CancellationToken cancellationToken, IProgress<long>? received = null)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(envelope);
        using var assembler = new PayloadAssembler(expectedLength, envelope.PayloadSha256, limits.MaxUpdateBytes, limits.MaxChunkBytes,
            $"update for work unit '{envelope.WorkUnitId}'", lengthIsVerified);
        await ReadChunksAsync(requestStream, assembler, limits, cancellationToken, received).ConfigureAwait(false);
        return assembler.Complete();
    }

    /// <summary>
    /// As <see cref="ReadPayloadAsync"/> with a length the reader computed itself, but into the caller's <paramref name="destination"/>
    /// (at least <paramref name="expectedLength"/> bytes, e.g. pooled), which the caller may read up to each reported length while later
    /// chunks arrive (to decode or store them as they come). Returns once the stream ended with exactly that length and the hash matched.
    /// </summary>
    public static Task ReadPayloadIntoAsync(
        IAsyncStreamReader<UpdateChunk> requestStream, UpdateEnvelope envelope, long expectedLength, byte[] destination, ProtocolLimits limits,
        CancellationToken cancellationToken, IProgress<long>? received = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return ReadPayloadIntoAsync(requestStream, envelope, expectedLength, destination.AsMemory(), limits, cancellationToken, received);
    }

    /// <summary>As the <c>byte[]</c> overload, into any memory the caller owns (e.g. a pinned, block-aligned buffer it writes with direct I/O).</summary>
    public static async Task ReadPayloadIntoAsync(
        IAsyncStreamReader<UpdateChunk> requestStream, UpdateEnvelope envelope, long expectedLength, Memory<byte> destination, ProtocolLimits limits,
        CancellationToken cancellationToken, IProgress<long>? received = null)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(envelope);
        using var assembler = new PayloadAssembler(expectedLength, envelope.PayloadSha256, limits.MaxUpdateBytes, limits.MaxChunkBytes,
            $"update for work unit '{envelope.WorkUnitId}'", destination);
        await ReadChunksAsync(requestStream, assembler, limits, cancellationToken, received).ConfigureAwait(false);
        assembler.CompleteInPlace();
    }

    /// <summary>
    /// Reads and discards the data chunks that follow the header, up to <paramref name="expectedLength"/> bytes, until the client ends the
    /// stream. For replies that need no payload (a resent, already accepted update): completing an HTTP/2 call while the client is still
    /// sending resets its stream, and Kestrel answers a connection with many such resets with ENHANCE_YOUR_CALM, failing the client's
    /// next calls on that connection. Bounded: a stream that passes the expected length is <see cref="RejectReason.Oversized"/>.
    /// </summary>
    public static async Task DrainPayloadAsync(IAsyncStreamReader<UpdateChunk> requestStream, long expectedLength, ProtocolLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(limits);
        long received = 0;
        while (await MoveNextAsync(requestStream, limits, received, cancellationToken).ConfigureAwait(false))
        {
            var message = requestStream.Current;
            if (message.PartCase != UpdateChunk.PartOneofCase.Data || message.Data.IsEmpty)
                throw new ProtocolException(RejectReason.MalformedRequest, $"an update stream carries one header, then only non-empty data; got {message.PartCase} after {received} bytes");
            received += message.Data.Length;
            if (received > expectedLength)
                throw new ProtocolException(RejectReason.Oversized, $"the stream passed the update's {expectedLength} bytes ({received} so far)");
        }
    }

    private static async Task ReadChunksAsync(IAsyncStreamReader<UpdateChunk> requestStream, PayloadAssembler assembler, ProtocolLimits limits,
        CancellationToken cancellationToken, IProgress<long>? received)
    {
        // Bounded by the assembler: every iteration appends at least one byte or fails.
        while (await MoveNextAsync(requestStream, limits, assembler.ReceivedLength, cancellationToken).ConfigureAwait(false))
        {
            var message = requestStream.Current;
            if (message.PartCase != UpdateChunk.PartOneofCase.Data)
                throw new ProtocolException(RejectReason.MalformedRequest, $"an update stream carries one header, then only data; got {message.PartCase} after {assembler.ReceivedLength} bytes");
            if (message.Data.IsEmpty)
                throw new ProtocolException(RejectReason.MalformedRequest, $"an empty data chunk arrived after {assembler.ReceivedLength} bytes; send only non-empty chunks");
            assembler.Append(message.Data.Span);
            received?.Report(assembler.ReceivedLength);
        }
    }

    /// <summary>gRPC refuses a message above its receive limit before we see it; that refusal is an <see cref="RejectReason.Oversized"/> chunk too.</summary>
    private static async Task<bool> MoveNextAsync(IAsyncStreamReader<UpdateChunk> stream, ProtocolLimits limits, long receivedSoFar, CancellationToken ct)
    {
        try
        {
            return await stream.MoveNext(ct).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
        {
            throw new ProtocolException(RejectReason.Oversized, $"a message after {receivedSoFar} payload bytes exceeds the transport's limit (chunks are at most {limits.MaxChunkBytes} bytes): {e.Status.Detail}");
        }
        catch (InvalidDataException e)
        {
            throw new ProtocolException(RejectReason.Oversized, $"a message after {receivedSoFar} payload bytes exceeds the transport's limit (chunks are at most {limits.MaxChunkBytes} bytes): {e.Message}");
        }
    }
}
