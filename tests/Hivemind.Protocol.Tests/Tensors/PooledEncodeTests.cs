using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Tensors;

/// <summary>
/// Encoding into a caller's span and into pooled buffers (issue 16, encode speed): the bytes are those of the stream encoder (the old
/// per-call path) for every codec, a lease's bytes stay intact while any share of it is alive however hard the pool is used meanwhile,
/// a buffer goes back to the pool exactly once, and the pool is really reused.
/// </summary>
public sealed class PooledEncodeTests
{
    public static TheoryData<PayloadCodec, int> Codecs => new()
    {
        { PayloadCodec.Fp32, 0 },
        { PayloadCodec.Fp16, 0 },
        { PayloadCodec.Int8Block, 0 },
        { PayloadCodec.TopK4, 5 },
        { PayloadCodec.TopK2, 13 },
    };

    /// <summary>Several tensors with tails (not whole blocks or slices), a zero block, a tiny block and one NaN.</summary>
    private static List<NamedTensor> Tensors(int seed)
    {
        var random = new Random(seed);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() + random.NextDouble() - 1.0) * 1e-2)).ToArray();
        var big = Values(3 * 64 * 256 + 17); // three streaming slices and a tail
        Array.Clear(big, 256, 256);
        for (int i = 512; i < 768; i++) big[i] = 1e-35f;
        var withNaN = Values(300);
        withNaN[7] = float.NaN;
        return
        [
            new NamedTensor("blocks.0.attn.w", [big.Length], big),
            new NamedTensor("one", [1], Values(1)),
            new NamedTensor("matrix", [3, 85], Values(255)),
            new NamedTensor("blocks.0.experts.12.w1", [257], Values(257)),
            new NamedTensor("nan", [300], withNaN),
        ];
    }

    private static byte[] StreamEncoded(List<NamedTensor> tensors, CodecSettings codec)
    {
        using var stream = new MemoryStream();
        TensorCodec.Encode(tensors, codec, stream);
        return stream.ToArray();
    }

    private static byte[] ArrayOf(ReadOnlyMemory<byte> bytes) =>
        MemoryMarshal.TryGetArray(bytes, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");

    private static CodecSettings Settings(PayloadCodec codec, int kept) => new(codec, kept);

    [Theory]
    [MemberData(nameof(Codecs))]
    public void EncodingIntoADirtyLargerSpanWritesExactlyTheStreamEncodersBytes(PayloadCodec codec, int kept)
    {
        var settings = Settings(codec, kept);
        var tensors = Tensors(1);
        byte[] expected = StreamEncoded(tensors, settings);
        Assert.Equal(expected.LongLength, TensorCodec.EncodedLength(tensors, settings));

        var destination = new byte[expected.Length + 100];
        destination.AsSpan().Fill(0xCD);
        int written = TensorCodec.Encode(tensors, settings, destination.AsSpan());

        Assert.Equal(expected.Length, written);
        Assert.Equal(expected, destination[..written]);
        Assert.All(destination[written..], b => Assert.Equal(0xCD, b)); // nothing past the payload
        Assert.Equal(expected, TensorCodec.Encode(tensors, settings)); // the array-returning encoder goes through the span
        Assert.Throws<ArgumentException>(() => TensorCodec.Encode(tensors, settings, new byte[expected.Length - 1].AsSpan()));
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void EncodingIntoAReusedPooledBufferWritesExactlyTheStreamEncodersBytes(PayloadCodec codec, int kept)
    {
        var settings = Settings(codec, kept);
        var pool = new PayloadBufferPool();
        // A larger buffer, dirty, back in the pool: the next encoding gets it.
        byte[] dirty = pool.Rent((int)TensorCodec.EncodedLength(Tensors(1), settings) + 4096);
        dirty.AsSpan().Fill(0xEE);
        pool.Return(dirty);
        foreach (int seed in new[] { 1, 2 })
        {
            var tensors = Tensors(seed);
            using var lease = TensorCodec.Encode(tensors, settings, pool);
            Assert.True(lease.IsPooled);
            Assert.Same(dirty, ArrayOf(lease.Bytes));
            Assert.Equal(StreamEncoded(tensors, settings), lease.Bytes.ToArray());
            using var read = lease.OpenRead();
            Assert.Equal(lease.Length, TensorCodec.ReadHeader(read, long.MaxValue).TotalBytes);
        }
    }

    [Fact]
    public void AnUploadStillReadingAPayloadReadsIntactBytesWhileThePoolIsReusedAroundIt()
    {
        var pool = new PayloadBufferPool(maxBuffers: 2);
        var tensors = Tensors(1);
        byte[] expected = StreamEncoded(tensors, PayloadCodec.Int8Block);
        var owner = TensorCodec.Encode(tensors, PayloadCodec.Int8Block, pool);
        var upload = owner.Share();
        using var identity = VolunteerIdentity.Create();
        var envelope = new UpdateEnvelope(ProtocolVersion.Current, identity.PublicKey, "r1-u1", 1, 1, [new ExpertKey(0, 3)], true,
            PayloadCodec.Int8Block, (ulong)upload.Length, SHA256.HashData(upload.Bytes.Span), 4096, 3.5, new byte[RunId.Bytes]);
        // The chunks wrap the payload's buffer without copying, as the volunteer's upload does, so they read it as it is when sent.
        using var chunks = UpdateStream.Messages("session", EnvelopeSigner.Sign(identity, envelope), upload.Bytes, chunkBytes: 4096).GetEnumerator();
        var sent = new MemoryStream();
        Assert.True(chunks.MoveNext()); // the header message
        Assert.True(chunks.MoveNext());
        sent.Write(chunks.Current.Data.Span);

        // The owner lets go (the volunteer moves on) while the upload streams; encodings of other payloads rent from the same pool.
        owner.Dispose();
        owner.Dispose();
        for (int seed = 2; seed <= 5; seed++)
            TensorCodec.Encode(Tensors(seed), PayloadCodec.Int8Block, pool).Dispose();
        var grabbed = Enumerable.Range(0, 2).Select(_ => pool.Rent(expected.Length)).ToList();
        foreach (var g in grabbed) g.AsSpan().Fill(0xAB);
        Assert.DoesNotContain(grabbed, g => ReferenceEquals(g, ArrayOf(upload.Bytes)));

        while (chunks.MoveNext()) sent.Write(chunks.Current.Data.Span);
        Assert.Equal(expected, sent.ToArray());

        int free = pool.FreeCount;
        upload.Dispose(); // the upload ends: only now is the buffer free, once
        upload.Dispose();
        Assert.Equal(free + 1, pool.FreeCount);
        Assert.Throws<ObjectDisposedException>(() => upload.Bytes);
        Assert.Throws<ObjectDisposedException>(() => upload.Share());
    }

    [Fact]
    public void ABufferGoesBackOnceAfterItsLastLeaseWhateverTheOrderOfDisposal()
    {
        var pool = new PayloadBufferPool();
        var owner = TensorCodec.Encode(Tensors(1), PayloadCodec.Fp16, pool);
        var a = owner.Share();
        var b = a.Share();
        owner.Dispose();
        b.Dispose();
        b.Dispose();
        owner.Dispose();
        Assert.Equal(0, pool.FreeCount); // a still reads it
        Assert.Equal(StreamEncoded(Tensors(1), PayloadCodec.Fp16), a.Bytes.ToArray());
        a.Dispose();
        Assert.Equal(1, pool.FreeCount);
        a.Dispose();
        Assert.Equal(1, pool.FreeCount);
    }

    [Fact]
    public void ThePoolIsReusedAcrossEncodings()
    {
        var pool = new PayloadBufferPool();
        var first = TensorCodec.Encode(Tensors(1), PayloadCodec.Int8Block, pool);
        byte[] buffer = ArrayOf(first.Bytes);
        first.Dispose();
        for (int seed = 2; seed <= 4; seed++)
        {
            using var next = TensorCodec.Encode(Tensors(seed), PayloadCodec.Int8Block, pool);
            Assert.Same(buffer, ArrayOf(next.Bytes));
        }
        Assert.Equal(1, pool.FreeCount);
    }

    [Fact]
    public void AnEncoderThatThrowsGivesTheBufferBack()
    {
        var pool = new PayloadBufferPool();
        Assert.Throws<InvalidOperationException>(() => PayloadLease.Encode(pool, 100, _ => throw new InvalidOperationException("boom")));
        Assert.Equal(1, pool.FreeCount);
        Assert.Throws<InvalidOperationException>(() => PayloadLease.Encode(pool, 100, _ => 101));
        Assert.Equal(1, pool.FreeCount);
    }

    [Fact]
    public void AnUnpooledLeaseOwnsNoPoolsBuffer()
    {
        byte[] bytes = [1, 2, 3];
        var lease = PayloadLease.Unpooled(bytes);
        Assert.False(lease.IsPooled);
        using var share = lease.Share();
        lease.Dispose();
        Assert.Equal(bytes, share.Bytes.ToArray());
    }
}
