using System.Security.Cryptography;
using Google.Protobuf;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.Tests.Tensors;
using Hivemind.Protocol.V1;

namespace Hivemind.Protocol.Tests.Streaming;

/// <summary>A real encoded, signed update goes through the SubmitUpdate message sequence and comes out identical; tampered streams fail with their reason.</summary>
public sealed class UpdateStreamTests
{
    private const int ChunkBytes = 1000;

    private static readonly ProtocolLimits Limits = new() { MaxChunkBytes = ChunkBytes };

    private static (SignedEnvelope Signed, byte[] Payload) Update(VolunteerIdentity identity)
    {
        byte[] payload = TensorCodec.Encode(TensorFixtures.Mixed(), PayloadCodec.Int8Block);
        var envelope = new UpdateEnvelope(ProtocolVersion.Current, identity.PublicKey, "r1-u1", 1, 1, [new ExpertKey(0, 3)], true,
            PayloadCodec.Int8Block, (ulong)payload.Length, SHA256.HashData(payload), 4096, 3.5, new byte[RunId.Bytes]);
        return (EnvelopeSigner.Sign(identity, envelope), payload);
    }

    private static Task<ReceivedUpdate> Read(IEnumerable<UpdateChunk> messages, Func<UpdateHeader, SignedEnvelope, CancellationToken, ValueTask>? onEnvelope = null) =>
        UpdateStream.ReadAsync(new ListStreamReader<UpdateChunk>(messages), Limits, onEnvelope, CancellationToken.None);

    [Fact]
    public async Task UpdateRoundTripsThroughTheStream()
    {
        using var identity = VolunteerIdentity.Create();
        var (signed, payload) = Update(identity);
        var messages = UpdateStream.Messages("session-1", signed, payload, ChunkBytes).ToList();
        Assert.Equal(1 + PayloadChunker.ChunkCount(payload.Length, ChunkBytes), messages.Count);
        SignedEnvelope? seen = null;
        var received = await Read(messages, (_, s, _) => { seen = s; return ValueTask.CompletedTask; });
        Assert.Equal("session-1", received.SessionToken);
        Assert.Equal(signed.Bytes, received.Envelope.Bytes);
        Assert.Equal(payload, received.Payload);
        Assert.Same(received.Envelope, seen);
        var decoded = TensorCodec.Decode(received.Payload, Limits.MaxUpdateBytes);
        Assert.Equal(TensorFixtures.Mixed().Names, decoded.Tensors.Names);
    }

    [Fact]
    public async Task EarlyCheckRejectsBeforeThePayloadIsRead()
    {
        using var identity = VolunteerIdentity.Create();
        var (signed, payload) = Update(identity);
        int dataRead = 0;
        var messages = UpdateStream.Messages("s", signed, payload, ChunkBytes).Select(m => { if (m.PartCase == UpdateChunk.PartOneofCase.Data) dataRead++; return m; });
        var e = await Assert.ThrowsAsync<ProtocolException>(() => Read(messages, (_, _, _) => throw new ProtocolException(RejectReason.StaleRound, "round 1 is closed")));
        Assert.Equal(RejectReason.StaleRound, e.Reason);
        Assert.Equal(0, dataRead);
    }

    [Fact]
    public async Task TamperedEnvelopeIsBadSignature()
    {
        using var identity = VolunteerIdentity.Create();
        var (signed, payload) = Update(identity);
        var messages = UpdateStream.Messages("s", signed, payload, ChunkBytes).ToList();
        byte[] signature = messages[0].Header.Signature.ToByteArray();
        signature[5] ^= 1;
        messages[0].Header.Signature = ByteString.CopyFrom(signature);
        Assert.Equal(RejectReason.BadSignature, (await Assert.ThrowsAsync<ProtocolException>(() => Read(messages))).Reason);
    }

    [Fact]
    public async Task TamperedPayloadIsHashMismatch()
    {
        using var identity = VolunteerIdentity.Create();
        var (signed, payload) = Update(identity);
        byte[] copy = (byte[])payload.Clone();
        var messages = UpdateStream.Messages("s", signed, copy, ChunkBytes).ToList();
        copy[^1] ^= 1; // chunks wrap the buffer, so this reaches the stream
        Assert.Equal(RejectReason.HashMismatch, (await Assert.ThrowsAsync<ProtocolException>(() => Read(messages))).Reason);
    }

    [Fact]
    public async Task MissingLastChunkIsTruncated()
    {
        using var identity = VolunteerIdentity.Create();
        var (signed, payload) = Update(identity);
        var messages = UpdateStream.Messages("s", signed, payload, ChunkBytes).SkipLast(1);
        Assert.Equal(RejectReason.TruncatedStream, (await Assert.ThrowsAsync<ProtocolException>(() => Read(messages))).Reason);
        Assert.Equal(RejectReason.TruncatedStream, (await Assert.ThrowsAsync<ProtocolException>(() => Read([]))).Reason);
    }

    [Fact]
    public async Task DataFirstOrSecondHeaderIsMalformed()
    {
        using var identity = VolunteerIdentity.Create();
        var (signed, payload) = Update(identity);
        var messages = UpdateStream.Messages("s", signed, payload, ChunkBytes).ToList();
        Assert.Equal(RejectReason.MalformedRequest, (await Assert.ThrowsAsync<ProtocolException>(() => Read(messages.Skip(1)))).Reason);
        Assert.Equal(RejectReason.MalformedRequest, (await Assert.ThrowsAsync<ProtocolException>(() => Read([messages[0], messages[0]]))).Reason);
    }

    [Fact]
    public async Task OldProtocolVersionIsMismatch()
    {
        using var identity = VolunteerIdentity.Create();
        var (signed, payload) = Update(identity);
        var messages = UpdateStream.Messages("s", signed, payload, ChunkBytes).ToList();
        messages[0].Header.ProtocolVersion = 0;
        Assert.Equal(RejectReason.ProtocolMismatch, (await Assert.ThrowsAsync<ProtocolException>(() => Read(messages))).Reason);
    }

    [Fact]
    public async Task DeclaredPayloadAboveTheLimitIsOversizedBeforeReading()
    {
        using var identity = VolunteerIdentity.Create();
        var (signed, payload) = Update(identity);
        var limits = Limits with { MaxUpdateBytes = payload.Length - 1 };
        var messages = UpdateStream.Messages("s", signed, payload, ChunkBytes);
        var e = await Assert.ThrowsAsync<ProtocolException>(() => UpdateStream.ReadAsync(new ListStreamReader<UpdateChunk>(messages), limits, null, CancellationToken.None));
        Assert.Equal(RejectReason.Oversized, e.Reason);
    }

    [Fact]
    public async Task DownloadRoundTripsWithMetadataFirst()
    {
        byte[] payload = TensorCodec.Encode(TensorFixtures.Mixed(), PayloadCodec.Fp16);
        var header = TensorCodec.Decode(payload, Limits.MaxDownloadBytes).Header;
        var metadata = ProtoMapping.ToMetadata(header, modelVersion: 4, SHA256.HashData(payload));
        var messages = DownloadStream.Messages(metadata, payload, ChunkBytes).ToList();
        Assert.Equal(DownloadChunk.PartOneofCase.Metadata, messages[0].PartCase);
        var (readMetadata, readPayload) = await DownloadStream.ReadAsync(new ListStreamReader<DownloadChunk>(messages), Limits, CancellationToken.None);
        Assert.Equal(4ul, readMetadata.ModelVersion);
        Assert.Equal(header.Tensors.Select(t => t.Name), readMetadata.Tensors.Select(t => t.Name));
        Assert.Equal(Codec.Fp16, readMetadata.Codec);
        Assert.Equal(payload, readPayload);
        var e = await Assert.ThrowsAsync<ProtocolException>(() => DownloadStream.ReadAsync(new ListStreamReader<DownloadChunk>(messages.SkipLast(1)), Limits, CancellationToken.None));
        Assert.Equal(RejectReason.TruncatedStream, e.Reason);
    }

    [Fact]
    public void ProtoCodecNumbersMatchPayloadCodec()
    {
        foreach (var codec in Enum.GetValues<PayloadCodec>()) Assert.Equal(codec, ProtoMapping.FromProto(codec.ToProto()));
        Assert.Throws<ArgumentException>(() => ProtoMapping.FromProto(Codec.Unspecified));
        Assert.Equal(Codec.Int8Block, PayloadCodec.Int8Block.ToProto());
    }
}
