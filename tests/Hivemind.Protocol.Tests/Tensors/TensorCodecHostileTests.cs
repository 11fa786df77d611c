using System.Buffers.Binary;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Tensors;

/// <summary>Each kind of corrupt payload fails with its own <see cref="PayloadError"/>, before allocating what it declares.</summary>
public sealed class TensorCodecHostileTests
{
    private const long Limit = 1 << 20;

    private static byte[] Valid(PayloadCodec codec = PayloadCodec.Fp16) =>
        TensorCodec.Encode([new NamedTensor("w", [2, 300], new float[600])], codec);

    private static PayloadFormatException Fails(byte[] payload, long limit = Limit) =>
        Assert.Throws<PayloadFormatException>(() => TensorCodec.Decode(payload, limit));

    private static PayloadFormatException FailsAsStream(byte[] payload) =>
        Assert.Throws<PayloadFormatException>(() => TensorCodec.Decode(new NonSeekableStream(payload), Limit));

    [Fact]
    public void WrongMagic()
    {
        byte[] p = Valid();
        p[0] = (byte)'X';
        Assert.Equal(PayloadError.BadMagic, Fails(p).Error);
    }

    [Fact]
    public void UnknownFormatVersion()
    {
        byte[] p = Valid();
        p[4] = 2;
        Assert.Equal(PayloadError.UnsupportedFormat, Fails(p).Error);
    }

    [Fact]
    public void UnknownCodecMapsToWrongCodec()
    {
        byte[] p = Valid();
        p[5] = 9;
        var e = Fails(p);
        Assert.Equal(PayloadError.UnknownCodec, e.Error);
        Assert.Equal(RejectReason.WrongCodec, e.Reason);
        Assert.Contains("codec byte 9", e.Message);
    }

    [Fact]
    public void ReservedBytesSet()
    {
        byte[] p = Valid();
        p[7] = 1;
        Assert.Equal(PayloadError.ReservedNotZero, Fails(p).Error);
    }

    [Fact]
    public void TooManyTensorsDeclared()
    {
        byte[] p = Valid();
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(8), uint.MaxValue);
        Assert.Equal(PayloadError.TooManyTensors, Fails(p).Error);
    }

    [Fact]
    public void TruncatedDataInMemoryAndInAStream()
    {
        byte[] p = Valid()[..^1];
        Assert.Equal(PayloadError.Truncated, Fails(p).Error);
        Assert.Equal(PayloadError.Truncated, FailsAsStream(p).Error);
        Assert.Equal(PayloadError.Truncated, Fails(Valid()[..10]).Error);
    }

    [Fact]
    public void TrailingBytesInMemoryAndInAStream()
    {
        byte[] p = [.. Valid(), 0];
        Assert.Equal(PayloadError.TrailingBytes, Fails(p).Error);
        Assert.Equal(PayloadError.TrailingBytes, FailsAsStream(p).Error);
    }

    [Fact]
    public void ASparsePayloadsDeclarationIsSizedByItsCodecNotByOneBytePerValue()
    {
        // Top-k keeps about 1% of a tensor's bytes: a count capped at the byte limit (as if every value took a byte) under-reported
        // the true size of a payload read at its own length, and let a 2^40-value top-k tensor through a 1 MiB limit.
        var settings = new CodecSettings(PayloadCodec.TopK4, 5);
        byte[] p = TensorCodec.Encode([new NamedTensor("w", [1 << 20], new float[1 << 20])], settings);
        Assert.True(p.Length < (1 << 20) / 10, $"a {p.Length}-byte payload is not the sparse case this test needs");
        Assert.Equal(p.Length, TensorCodec.ReadHeader(new MemoryStream(p), p.Length).TotalBytes);
        Assert.Equal(1 << 20, TensorCodec.Decode(p, p.Length).Tensors["w"].Values.Length);

        byte[] huge = [.. p];
        BinaryPrimitives.WriteInt64LittleEndian(huge.AsSpan(12 + 2 + 1 + 1), 1L << 40);
        Assert.Equal(PayloadError.Oversized, Assert.Throws<PayloadFormatException>(() => TensorCodec.ReadHeader(new MemoryStream(huge), Limit)).Error);
    }

    [Fact]
    public void OversizedPayloadAndOversizedDeclaration()
    {
        byte[] p = Valid();
        var e = Fails(p, limit: p.Length - 1);
        Assert.Equal(PayloadError.Oversized, e.Error);
        Assert.Equal(RejectReason.Oversized, e.Reason);
        // A 30-byte payload that declares a 2^40-element tensor fails on the declaration, before any allocation.
        byte[] huge = Valid();
        int dim0 = 12 + 2 + 1 + 1;
        BinaryPrimitives.WriteInt64LittleEndian(huge.AsSpan(dim0), 1L << 40);
        Assert.Equal(PayloadError.Oversized, FailsAsStream(huge).Error);
        BinaryPrimitives.WriteInt64LittleEndian(huge.AsSpan(dim0), long.MaxValue);
        Assert.Equal(PayloadError.Oversized, FailsAsStream(huge).Error);
    }

    [Fact]
    public void NegativeDimension()
    {
        byte[] p = Valid();
        BinaryPrimitives.WriteInt64LittleEndian(p.AsSpan(12 + 2 + 1 + 1), -2);
        Assert.Equal(PayloadError.BadShape, Fails(p).Error);
    }

    [Fact]
    public void RankTooLarge()
    {
        byte[] p = Valid();
        p[12 + 2 + 1] = 200;
        Assert.Equal(PayloadError.RankTooLarge, Fails(p).Error);
    }

    [Fact]
    public void EmptyAndInvalidUtf8Names()
    {
        byte[] empty = Valid();
        BinaryPrimitives.WriteUInt16LittleEndian(empty.AsSpan(12), 0);
        Assert.Equal(PayloadError.BadName, Fails(empty).Error);
        byte[] invalid = Valid();
        invalid[14] = 0xff;
        Assert.Equal(PayloadError.BadName, Fails(invalid).Error);
    }

    [Fact]
    public void DuplicateNames()
    {
        byte[] p = TensorCodec.Encode([new NamedTensor("a", [1], [1f]), new NamedTensor("b", [1], [2f])], PayloadCodec.Fp32);
        int secondName = 12 + 2 + 1 + 1 + 8 + 2;
        Assert.Equal((byte)'b', p[secondName]);
        p[secondName] = (byte)'a';
        var e = Fails(p);
        Assert.Equal(PayloadError.DuplicateName, e.Error);
        Assert.Contains("'a'", e.Message);
    }

    [Fact]
    public void NegativeInt8ScaleIsRejected()
    {
        byte[] p = Valid(PayloadCodec.Int8Block);
        int firstScale = 12 + 2 + 1 + 1 + 2 * 8;
        BinaryPrimitives.WriteSingleLittleEndian(p.AsSpan(firstScale), -1f);
        Assert.Equal(PayloadError.NonFiniteScale, Fails(p).Error);
    }

    [Fact]
    public void EveryPayloadErrorIsProducedByATest()
    {
        // Keeps this file honest: a new PayloadError needs a case here (BadIndex and BadCodecParameter: SparseCodecTests;
        // BadCompression: Fp32ShuffleZstdTests).
        Assert.Equal(16, Enum.GetValues<PayloadError>().Length);
    }

    /// <summary>A read-only stream that hides its length, like a network stream.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
