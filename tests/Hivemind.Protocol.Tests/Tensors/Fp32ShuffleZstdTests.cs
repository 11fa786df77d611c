using System.Buffers.Binary;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Tensors;

/// <summary>The compressed full download (CODEC_FP32_SHUFFLE_ZSTD): bit-exact, and hostile streams refused before they cost memory.</summary>
public sealed class Fp32ShuffleZstdTests
{
    private const long Limit = 64L << 20;

    /// <summary>Bit patterns an encoder must not normalise: NaNs with payloads and either sign, denormals, signed zeros, infinities.</summary>
    private static readonly uint[] Awkward =
        [0x7fc00000, 0x7fa00001, 0xffc12345, 0x7f800001, 0x00000001, 0x807fffff, 0x00400000, 0x80000000, 0x00000000, 0x7f800000, 0xff800000, 0x3f800000];

    [Fact]
    public void RoundTripsBitForBitAcrossBlocksWithNaNPayloadsDenormalsAndOddLengths()
    {
        var random = new Random(3);
        var big = TensorFixtures.Tensor(random, "big", [Fp32ShuffleZstd.BlockValues + 3], 0.05f); // a second, 3-value block
        for (int i = 0; i < Awkward.Length; i++)
        {
            big.Values[i * 997] = BitConverter.UInt32BitsToSingle(Awkward[i]);
            big.Values[^(i + 1)] = BitConverter.UInt32BitsToSingle(Awkward[i]);
        }
        var odd = new NamedTensor("odd", [7], [.. Awkward.Take(7).Select(BitConverter.UInt32BitsToSingle)]);
        var tensors = new ParameterSet([.. TensorFixtures.Mixed(), big, odd]);
        byte[] fp32 = TensorCodec.Encode(tensors, PayloadCodec.Fp32);

        byte[] compressed = Fp32ShuffleZstd.Encode(fp32);
        byte[] back = Fp32ShuffleZstd.Decode(compressed, Limit);

        Assert.Equal(Fp32ShuffleZstd.CodecByte, compressed[5]);
        Assert.Equal(fp32, back); // every byte, the NaN payloads and denormals included: the SHA-256 the volunteer checks is the fp32 one
        Assert.True(compressed.Length < fp32.Length, $"{compressed.Length} compressed bytes for {fp32.Length} fp32 bytes");
    }

    [Fact]
    public void NoPayloadEncodesBelowItsMinimumLengthNotEvenAllZeros()
    {
        // The coordinator skips compressing a shard when the steps it would send are below this bound (DownloadChoice): it must hold
        // for the most compressible values there are, and for trained-looking ones.
        var random = new Random(5);
        foreach (var values in new[] { new float[Fp32ShuffleZstd.BlockValues + 17], TensorFixtures.Tensor(random, "w", [100_003], 0.05f).Values })
        {
            byte[] fp32 = TensorCodec.Encode([new NamedTensor("t", [values.Length], values)], PayloadCodec.Fp32);
            long encoded = Fp32ShuffleZstd.Encode(fp32).LongLength;
            Assert.True(encoded >= Fp32ShuffleZstd.MinimumEncodedLength(values.Length), $"{encoded} B encoded for {values.Length} values");
            Assert.True(encoded < fp32.Length);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    public void TinyAndEmptyPayloadsRoundTrip(int count)
    {
        var values = Enumerable.Range(0, count).Select(i => BitConverter.UInt32BitsToSingle(Awkward[i % Awkward.Length])).ToArray();
        byte[] fp32 = TensorCodec.Encode([new NamedTensor("t", [count], values)], PayloadCodec.Fp32);
        Assert.Equal(fp32, Fp32ShuffleZstd.Decode(Fp32ShuffleZstd.Encode(fp32), Limit));
    }

    [Fact]
    public void ShufflePutsByteJOfEveryValueIntoPlaneJ()
    {
        byte[] values = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c];
        var planes = new byte[12];
        Fp32ShuffleZstd.Shuffle(values, planes, 3);
        Assert.Equal(new byte[] { 0x01, 0x05, 0x09, 0x02, 0x06, 0x0a, 0x03, 0x07, 0x0b, 0x04, 0x08, 0x0c }, planes);
        var again = new byte[12];
        Fp32ShuffleZstd.Unshuffle(planes, again, 3);
        Assert.Equal(values, again);
    }

    [Fact]
    public void AnOlderReaderRefusesTheCompressedFormByItsCodecByte()
    {
        byte[] compressed = Fp32ShuffleZstd.Encode(TensorCodec.Encode(TensorFixtures.Mixed(), PayloadCodec.Fp32));
        var e = Assert.Throws<PayloadFormatException>(() => TensorCodec.Decode(compressed, Limit));
        Assert.Equal(PayloadError.UnknownCodec, e.Error);
    }

    [Fact]
    public void OnlyFp32PayloadsAreEncoded()
    {
        byte[] fp16 = TensorCodec.Encode(TensorFixtures.Mixed(), PayloadCodec.Fp16);
        var e = Assert.Throws<ArgumentException>(() => Fp32ShuffleZstd.Encode(fp16));
        Assert.Contains("Fp16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFrameDeclaringMoreThanItsPlaneIsRefusedBeforeAnythingThatSizeIsAllocated()
    {
        const int bombBytes = 256 << 20;
        var (fp32, compressed) = Compressible();
        // A tiny valid zstd frame of 256 MiB of zeros, in place of the first compressed plane (plane 3 of the first block).
        byte[] bomb;
        using (var compressor = new ZstdSharp.Compressor(1))
            bomb = compressor.Wrap(new byte[bombBytes]).ToArray();
        var (offset, length) = Plane(compressed, fp32, 0, 3);
        Assert.Equal(1, compressed[offset]); // the exponent plane is a zstd frame
        byte[] hostile = Replace(compressed, offset, length, 1, bomb);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<PayloadFormatException>(() => Fp32ShuffleZstd.Decode(hostile, Limit));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(PayloadError.BadCompression, e.Error);
        Assert.Contains($"declares {bombBytes} decompressed bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("download it again", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < bombBytes / 8, $"decoding the bomb allocated {allocated} bytes");
    }

    [Fact]
    public void AFrameThatDoesNotDeclareItsSizeIsRefused()
    {
        var (fp32, compressed) = Compressible();
        var (offset, length) = Plane(compressed, fp32, 0, 3);
        int planeBytes = Fp32ShuffleZstd.BlockValues;
        // A streaming frame: zstd writes no content size when none was pledged.
        using var sink = new MemoryStream();
        using (var stream = new ZstdSharp.CompressionStream(sink, 1, leaveOpen: true))
            stream.Write(new byte[planeBytes]);
        byte[] hostile = Replace(compressed, offset, length, 1, sink.ToArray());
        var e = Assert.Throws<PayloadFormatException>(() => Fp32ShuffleZstd.Decode(hostile, Limit));
        Assert.Equal(PayloadError.BadCompression, e.Error);
    }

    [Fact]
    public void CorruptPlanesAreRefusedWithTheirPlaceNamed()
    {
        var (fp32, compressed) = Compressible();
        var (offset, length) = Plane(compressed, fp32, 0, 3);

        byte[] badMagic = (byte[])compressed.Clone();
        badMagic[offset + 5] ^= 0xff; // the frame's magic number
        var e = Assert.Throws<PayloadFormatException>(() => Fp32ShuffleZstd.Decode(badMagic, Limit));
        Assert.Equal(PayloadError.BadCompression, e.Error);
        Assert.Contains("plane 3 of the block at value 0", e.Message, StringComparison.Ordinal);

        byte[] badMode = (byte[])compressed.Clone();
        badMode[offset] = 7;
        Assert.Equal(PayloadError.BadCompression, Assert.Throws<PayloadFormatException>(() => Fp32ShuffleZstd.Decode(badMode, Limit)).Error);

        var (storedOffset, storedLength) = Plane(compressed, fp32, 0, 0);
        Assert.Equal(0, compressed[storedOffset]); // the low mantissa plane is stored
        byte[] shortStored = Replace(compressed, storedOffset, storedLength, 0, new byte[storedLength - 5 - 1]);
        Assert.Equal(PayloadError.BadCompression, Assert.Throws<PayloadFormatException>(() => Fp32ShuffleZstd.Decode(shortStored, Limit)).Error);
    }

    [Fact]
    public void TruncatedOrPaddedStreamsAreRefused()
    {
        var (fp32, compressed) = Compressible();
        int header = TensorCodec.ReadHeader(new MemoryStream(fp32), Limit).HeaderBytes;
        var (plane3, _) = Plane(compressed, fp32, 0, 3);
        // Cuts inside the header, inside a plane's prefix, inside a frame, and the last byte.
        foreach (int cut in new[] { 3, header - 1, header + 2, plane3 + 20, compressed.Length - 1 })
        {
            var e = Assert.Throws<PayloadFormatException>(() => Fp32ShuffleZstd.Decode(compressed[..cut], Limit));
            Assert.True(e.Error is PayloadError.Truncated or PayloadError.BadCompression, $"a cut at {cut} gave {e.Error}: {e.Message}");
        }
        byte[] padded = [.. compressed, 0];
        Assert.Equal(PayloadError.TrailingBytes, Assert.Throws<PayloadFormatException>(() => Fp32ShuffleZstd.Decode(padded, Limit)).Error);
    }

    [Fact]
    public void AHeaderDeclaringMoreThanTheLimitIsRefusedBeforeAllocating()
    {
        var (fp32, compressed) = Compressible();
        var e = Assert.Throws<PayloadFormatException>(() => Fp32ShuffleZstd.Decode(compressed, fp32.Length - 1));
        Assert.Equal(PayloadError.Oversized, e.Error);
    }

    [Fact]
    public void EncodingIntoADirtyLargerBufferWritesExactlyTheBytesOfANewArray()
    {
        var (fp32, compressed) = Compressible();
        int bound = Fp32ShuffleZstd.MaxEncodedLength(fp32);
        Assert.True(bound >= fp32.Length, "the bound has room for every plane stored");
        var destination = new byte[bound + 100];
        destination.AsSpan().Fill(0xA5); // a reused buffer holds an older payload's bytes

        int written = Fp32ShuffleZstd.Encode(fp32, destination);

        Assert.Equal(compressed, destination.AsSpan(0, written).ToArray());
        Assert.Equal(fp32, Fp32ShuffleZstd.Decode(destination.AsSpan(0, written).ToArray(), Limit));
        Assert.All(destination.AsSpan(written).ToArray(), b => Assert.Equal(0xA5, b)); // nothing written past the payload
        Assert.Throws<ArgumentException>(() => Fp32ShuffleZstd.Encode(fp32, new byte[bound - 1]));
    }

    /// <summary>Weights of a trained layer's spread (two blocks), as fp32 and compressed.</summary>
    private static (byte[] Fp32, byte[] Compressed) Compressible()
    {
        var tensor = TensorFixtures.Tensor(new Random(5), "w", [Fp32ShuffleZstd.BlockValues + 100], 0.05f);
        byte[] fp32 = TensorCodec.Encode([tensor], PayloadCodec.Fp32);
        return (fp32, Fp32ShuffleZstd.Encode(fp32));
    }

    /// <summary>Offset of plane <paramref name="plane"/>'s mode byte in block <paramref name="block"/>, and its whole length (prefix included).</summary>
    private static (int Offset, int Length) Plane(byte[] compressed, byte[] fp32, int block, int plane)
    {
        int position = TensorCodec.ReadHeader(new MemoryStream(fp32), Limit).HeaderBytes;
        for (int i = 0; i <= block * 4 + plane; i++)
        {
            int length = 5 + (int)BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(position + 1));
            if (i == block * 4 + plane) return (position, length);
            position += length;
        }
        throw new InvalidOperationException("unreachable");
    }

    private static byte[] Replace(byte[] compressed, int offset, int length, byte mode, byte[] data)
    {
        var prefix = new byte[5];
        prefix[0] = mode;
        BinaryPrimitives.WriteUInt32LittleEndian(prefix.AsSpan(1), (uint)data.Length);
        return [.. compressed.AsSpan(0, offset), .. prefix, .. data, .. compressed.AsSpan(offset + length)];
    }
}
