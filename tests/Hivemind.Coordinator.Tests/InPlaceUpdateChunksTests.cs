using System.Buffers;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Services;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// SubmitUpdate's in-place reader (<see cref="InPlaceUpdateChunks"/>): a data chunk lands straight in its place in the payload's
/// buffer, every other message means exactly what the generated parser makes of it, the payload that arrives this way is stored byte
/// for byte, and the coordinator's gRPC service really reads SubmitUpdate with it.
/// </summary>
public sealed class InPlaceUpdateChunksTests : IDisposable
{
    /// <summary>Bytes per chunk: several per tensor slice of tiny, and not a whole number of the 4 KiB segments below.</summary>
    private const int ChunkBytes = 50_001;

    /// <summary>The segment size of the transport's buffers (Kestrel's blocks): a chunk spans many of them.</summary>
    private const int SegmentBytes = 4096;

    /// <summary>Bound on awaiting the workers of a tiny update.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly EngineHarness _h = new(o => o with { Quorum = 8 });

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task AStreamReadInPlaceIsCheckedAndStoredByteForByte()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        var ticket = _h.Engine.BeginSubmit(update.Envelope.Bytes, update.Envelope.Signature, v.Id);
        await using var payload = _h.Engine.ReceivePayload(ticket);
        var reader = new WireReader(update.Payload, ChunkBytes, payload);

        using (InPlaceUpdateChunks.Into(payload, ProtocolLimits.Default.MaxChunkBytes))
            await UpdateStream.ReadPayloadIntoAsync(reader, ticket.Envelope, ticket.ExpectedLength, payload.Buffer, ProtocolLimits.Default, CancellationToken.None, payload);
        await payload.ProcessedAsync().WaitAsync(Patience);
        long seq = _h.Engine.CompleteSubmit(ticket, payload);

        Assert.Equal((update.Payload.Length + ChunkBytes - 1) / ChunkBytes, reader.Chunks);
        Assert.Equal(reader.Chunks, reader.InPlace);
        var record = _h.Engine.Store.Updates(_h.Engine.Round).Single(u => u.Sequence == seq);
        Assert.Equal(SHA256.HashData(update.Payload), SHA256.HashData(File.ReadAllBytes(Path.Combine(_h.Options.DataDirectory, record.PayloadPath))));
    }

    [Fact]
    public async Task ACorruptedChunkReadInPlaceStillFailsTheHash()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        byte[] corrupted = (byte[])update.Payload.Clone();
        corrupted[^1] ^= 1;
        long ledger = _h.Engine.Store.LedgerCount();
        var ticket = _h.Engine.BeginSubmit(update.Envelope.Bytes, update.Envelope.Signature, v.Id);
        await using var payload = _h.Engine.ReceivePayload(ticket);
        var reader = new WireReader(corrupted, ChunkBytes, payload);

        ProtocolException e;
        using (InPlaceUpdateChunks.Into(payload, ProtocolLimits.Default.MaxChunkBytes))
            e = await Assert.ThrowsAsync<ProtocolException>(() =>
                UpdateStream.ReadPayloadIntoAsync(reader, ticket.Envelope, ticket.ExpectedLength, payload.Buffer, ProtocolLimits.Default, CancellationToken.None, payload));

        Assert.Equal(RejectReason.HashMismatch, e.Reason);
        Assert.Equal(reader.Chunks, reader.InPlace);
        Assert.Equal(ledger, _h.Engine.Store.LedgerCount());
    }

    [Fact]
    public async Task OtherMessagesMeanWhatTheGeneratedParserMakesOfThemAndTouchNoPayloadByte()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        var ticket = _h.Engine.BeginSubmit(update.Envelope.Bytes, update.Envelope.Signature, v.Id);
        await using var payload = _h.Engine.ReceivePayload(ticket);
        payload.Buffer.Span.Fill(0xA5);
        byte[] small = [1, 2, 3];
        byte[] tooLong = new byte[update.Payload.Length + 1];
        var messages = new List<byte[]>
        {
            new UpdateChunk { Header = new UpdateHeader { ProtocolVersion = ProtocolVersion.Current, SessionToken = "t", Envelope = ByteString.CopyFrom(update.Envelope.Bytes) } }.ToByteArray(),
            new UpdateChunk { Data = ByteString.CopyFrom(tooLong) }.ToByteArray(), // beyond the announced length: the reader refuses it
            new UpdateChunk { Data = ByteString.Empty }.ToByteArray(),
            // Two data fields: protobuf keeps the last.
            Concat(new UpdateChunk { Data = ByteString.CopyFrom(small) }.ToByteArray(), new UpdateChunk { Data = ByteString.CopyFrom([9, 9]) }.ToByteArray()),
            // Data, then the header: the oneof ends as the header.
            Concat(new UpdateChunk { Data = ByteString.CopyFrom(small) }.ToByteArray(), new UpdateChunk { Header = new UpdateHeader { SessionToken = "x" } }.ToByteArray()),
            // A data field, then an unknown field.
            Concat(new UpdateChunk { Data = ByteString.CopyFrom(small) }.ToByteArray(), [(9 << 3) | 0, 1]),
        };

        using (InPlaceUpdateChunks.Into(payload, ProtocolLimits.Default.MaxChunkBytes))
        {
            foreach (byte[] message in messages)
            {
                var parsed = InPlaceUpdateChunks.Deserialize(new WireContext(message));
                Assert.Equal(UpdateChunk.Parser.ParseFrom(message), parsed);
            }
        }

        Assert.True(payload.Buffer.Span.IndexOfAnyExcept((byte)0xA5) < 0, "a message the generated parser read wrote into the payload's buffer");
    }

    [Fact]
    public void WithoutAPayloadBeingReceivedDataChunksAreParsedAsBefore()
    {
        byte[] data = RandomNumberGenerator.GetBytes(3 * SegmentBytes + 17);
        byte[] message = new UpdateChunk { Data = ByteString.CopyFrom(data) }.ToByteArray();

        var parsed = InPlaceUpdateChunks.Deserialize(new WireContext(message));

        Assert.Equal(data, parsed.Data.ToByteArray());
    }

    [Fact]
    public async Task TheCoordinatorServiceReadsSubmitUpdateInPlace()
    {
        await using var c = await LoopbackCoordinator.StartAsync(EngineHarness.TinyOptions);
        var endpoints = c.Services.GetRequiredService<EndpointDataSource>().Endpoints;
        var submit = endpoints.Select(e => e.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method)
            .OfType<Method<UpdateChunk, SubmitReply>>().Single(m => m.Name == "SubmitUpdate");
        Assert.Equal(InPlaceUpdateChunks.Deserialize, submit.RequestMarshaller.ContextualDeserializer);
        // The other methods keep their generated binding.
        Assert.Contains(endpoints, e => e.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.Name == "RequestWork");
    }

    private static byte[] Concat(byte[] first, byte[] second) => [.. first, .. second];

    /// <summary>One gRPC message as the transport hands it over: in 4 KiB segments.</summary>
    private sealed class WireContext(byte[] message) : DeserializationContext
    {
        public override int PayloadLength => message.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])message.Clone();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => Segmented(message);

        private static ReadOnlySequence<byte> Segmented(byte[] bytes)
        {
            if (bytes.Length <= SegmentBytes) return new ReadOnlySequence<byte>(bytes);
            var first = new Segment(bytes.AsMemory(0, SegmentBytes), 0);
            var last = first;
            for (int at = SegmentBytes; at < bytes.Length; at += SegmentBytes)
                last = last.Append(bytes.AsMemory(at, Math.Min(SegmentBytes, bytes.Length - at)));
            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    /// <summary>
    /// A SubmitUpdate request stream as gRPC reads it: each data chunk serialized, then parsed by the coordinator's deserializer; counts
    /// the chunks that arrived already in their place in the payload's buffer.
    /// </summary>
    private sealed class WireReader(byte[] payloadBytes, int chunkBytes, IncomingPayload payload) : IAsyncStreamReader<UpdateChunk>
    {
        private int _at;

        public UpdateChunk Current { get; private set; } = new();

        public int Chunks { get; private set; }

        public int InPlace { get; private set; }

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (_at >= payloadBytes.Length) return Task.FromResult(false);
            int count = Math.Min(chunkBytes, payloadBytes.Length - _at);
            byte[] message = new UpdateChunk { Data = ByteString.CopyFrom(payloadBytes, _at, count) }.ToByteArray();
            Current = InPlaceUpdateChunks.Deserialize(new WireContext(message));
            if (payload.Buffer.Span.Overlaps(Current.Data.Span, out int offset) && offset == _at) InPlace++;
            Chunks++;
            _at += count;
            return Task.FromResult(true);
        }
    }
}
