using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ZstdSharp;

namespace Hivemind.Protocol.Tensors;

/// <summary>
/// The lossless compressed form of an fp32 tensor payload (<c>CODEC_FP32_SHUFFLE_ZSTD</c>, issue 16's compressed full downloads): the
/// fp32 header under codec byte 4, then the values in blocks of <see cref="BlockValues"/>, each split into its four byte planes (as
/// Blosc's and HDF5's shuffle filter does), each plane stored or one zstd frame. Decoding gives back the fp32 payload byte for byte,
/// so its SHA-256 is the unit's <c>parameters_sha256</c>.
/// </summary>
/// <remarks>
/// Layout after the header, per block of n values (the concatenated values of all tensors in header order, n = 2^18 except the last):
/// for each plane j = 0..3 (byte j of every little-endian f32 of the block, in value order): <c>u8 mode | u32 length L | L bytes</c>;
/// mode 0 stores the n plane bytes (L = n); mode 1 is zstd data (RFC 8878) that declares content size n in its frame header and
/// decodes to exactly those n bytes. Nothing follows the last block.
/// The shuffle is hand-written because no package on the mirror does it: ZstdSharp has no pre-filter, Blosc (whose shuffle this
/// is) has no .NET build there, and System.Numerics.Tensors has no byte transpose. It is two loops, tested bit for bit.
/// </remarks>
public static class Fp32ShuffleZstd
{
    /// <summary>The codec byte of the payload header and the proto's <c>CODEC_FP32_SHUFFLE_ZSTD</c>.</summary>
    public const byte CodecByte = 4;

    /// <summary>Values per block: 1 MiB of fp32, so one block's planes stay in cache and a bad frame is refused after at most that much work.</summary>
    public const int BlockValues = 1 << 18;

    /// <summary>
    /// zstd level: zstd's fastest match finder, with the plane tuning of <see cref="CreateCompressor"/>. The sign/exponent plane is
    /// a stream of few distinct bytes with few long repeats, so Huffman coding of its literals does nearly all the work; a fast
    /// match finder that takes only long matches (and therefore leaves more literals to Huffman) compresses it better and about
    /// nine times faster than level 1 did (ZstdSharp 0.8.8, one core, 4 Mi Gaussian values: 0.339 of the plane at 755 MB/s of
    /// plane bytes, against 0.392 at 83 MB/s; docs/benchmarks/codecs.md, Session 9).
    /// </summary>
    public const int DefaultLevel = -50;

    /// <summary>Window of a plane's matches: a block's plane is 2^18 bytes, and nearer repeats are the ones that exist.</summary>
    private const int WindowLog = 17;

    /// <summary>Hash table of 2^8 entries: small enough to stay in L1, which is what makes the fast match finder fast here.</summary>
    private const int HashLog = 8;

    /// <summary>Only matches of 7 bytes or more: shorter ones cost more to code than Huffman-coded literals of this plane.</summary>
    private const int MinMatch = 7;

    /// <summary>zstd's literal compression switch (ZSTD_c_literalCompressionMode = ZSTD_c_experimentalParam5): 1 forces Huffman literals, which negative levels turn off by default.</summary>
    private const ZstdSharp.Unsafe.ZSTD_cParameter LiteralCompressionMode = ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_experimentalParam5;

    private const int LiteralCompressionEnabled = 1;

    [ThreadStatic]
    private static (int Level, Compressor Compressor)? t_compressor;

    /// <summary>
    /// This thread's compressor at <paramref name="level"/>, kept for its next call: creating one per call cost more than the encoding
    /// (its context and tables are allocated and cleared at the first compression). A compressor is not thread-safe, hence one per thread.
    /// </summary>
    private static Compressor CachedCompressor(int level)
    {
        if (t_compressor is { } cached && cached.Level == level) return cached.Compressor;
        t_compressor?.Compressor.Dispose();
        var compressor = CreateCompressor(level);
        t_compressor = (level, compressor);
        return compressor;
    }

    /// <summary>A zstd compressor at <paramref name="level"/> tuned for byte planes (see <see cref="DefaultLevel"/>); its frames are ordinary zstd, which any decoder reads.</summary>
    public static Compressor CreateCompressor(int level = DefaultLevel)
    {
        var compressor = new Compressor(level);
        compressor.SetParameter(LiteralCompressionMode, LiteralCompressionEnabled);
        compressor.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_windowLog, WindowLog);
        compressor.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_hashLog, HashLog);
        compressor.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_minMatch, MinMatch);
        return compressor;
    }

    /// <summary>
    /// Planes below this one are stored, not compressed: zstd level 1 shrinks planes 0–2 (mantissa bytes, plus the exponent's low bit
    /// in plane 2) by 0–0.6% on trained and initial weights, against 63–75% for plane 3 (sign and 7 exponent bits), so compressing
    /// them would double the encoder's work for under 0.2% of the payload (docs/benchmarks/codecs.md, Session 8).
    /// </summary>
    public const int FirstCompressedPlane = 3;

    private const int PlaneCount = 4;

    /// <summary>
    /// Fewest bytes <see cref="Encode"/> can write for <paramref name="values"/> fp32 values: the planes below
    /// <see cref="FirstCompressedPlane"/>, which it always stores. A coordinator that would send steps smaller than this need not
    /// compress the shard to know they are the smaller download (<see cref="DownloadChoice"/>).
    /// </summary>
    public static long MinimumEncodedLength(long values) => values * FirstCompressedPlane;
    private const byte StoredMode = 0;
    private const byte ZstdMode = 1;
    private const int PlanePrefixBytes = 1 + 4;

    /// <summary>Compresses an fp32 tensor payload (as <see cref="TensorCodec.Encode(IEnumerable{NamedTensor}, CodecSettings, ProtocolLimits?)"/> writes it) into a new array of exactly its size.</summary>
    /// <remarks>
    /// The new array is fresh large-object memory, and on this virtual machine first touching it cost most of each call (about 3,400
    /// page faults for 14 MB, 50–75 ms against ~9 ms of compression; docs/benchmarks/codecs.md, Session 10). A caller that encodes
    /// repeatedly, as the coordinator's parameter cache does, encodes into a buffer it reuses instead (<see cref="Encode(byte[], Span{byte}, int, ProtocolLimits?)"/>).
    /// </remarks>
    public static byte[] Encode(byte[] fp32Payload, int level = DefaultLevel, ProtocolLimits? limits = null)
    {
        byte[] output = ArrayPool<byte>.Shared.Rent(MaxEncodedLength(fp32Payload, limits));
        try
        {
            int length = Encode(fp32Payload, output, level, limits);
            byte[] result = GC.AllocateUninitializedArray<byte>(length);
            output.AsSpan(0, length).CopyTo(result);
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>
    /// The most bytes <see cref="Encode(byte[], Span{byte}, int, ProtocolLimits?)"/> writes for <paramref name="fp32Payload"/>: its header and
    /// every plane stored (each with its mode and length), which is what the layout allows at worst.
    /// </summary>
    public static int MaxEncodedLength(byte[] fp32Payload, ProtocolLimits? limits = null) => MaxEncodedLength(ReadFp32Header(fp32Payload, limits));

    private static int MaxEncodedLength(PayloadHeader header)
    {
        long values = header.DataBytes / sizeof(float);
        long blocks = (values + BlockValues - 1) / BlockValues;
        long bound = header.HeaderBytes + blocks * PlaneCount * PlanePrefixBytes + values * sizeof(float);
        return bound <= Array.MaxLength ? (int)bound
            : throw new ArgumentException($"the compressed form of this payload may need {bound} bytes, more than one array holds.", nameof(header));
    }

    /// <summary>
    /// Compresses <paramref name="fp32Payload"/> into the start of <paramref name="destination"/>, which must hold at least
    /// <see cref="MaxEncodedLength(byte[], ProtocolLimits?)"/> bytes, and returns the number of bytes written. The bytes are those of
    /// <see cref="Encode(byte[], int, ProtocolLimits?)"/>; nothing is allocated per call beyond pooled scratch space.
    /// </summary>
    public static int Encode(byte[] fp32Payload, Span<byte> destination, int level = DefaultLevel, ProtocolLimits? limits = null)
    {
        var header = ReadFp32Header(fp32Payload, limits);
        int bound = MaxEncodedLength(header);
        if (destination.Length < bound)
            throw new ArgumentException($"the destination has {destination.Length} bytes; encoding this payload needs up to {bound} ({nameof(MaxEncodedLength)}).", nameof(destination));
        long values = header.DataBytes / sizeof(float);
        int blockBytes = (int)Math.Min(BlockValues, Math.Max(values, 1));
        // Planes and frames go through pooled scratch, then straight into the destination: a growing MemoryStream and its ToArray
        // allocated (and zeroed) two large arrays per call, and the collections they caused cost more than the encoding itself
        // (docs/benchmarks/codecs.md, Session 9).
        byte[] planes = ArrayPool<byte>.Shared.Rent(PlaneCount * blockBytes);
        byte[] frame = ArrayPool<byte>.Shared.Rent(Compressor.GetCompressBound(blockBytes));
        var compressor = CachedCompressor(level);
        try
        {
            fp32Payload.AsSpan(0, header.HeaderBytes).CopyTo(destination);
            destination[5] = CodecByte;
            int position = header.HeaderBytes;
            for (long start = 0; start < values; start += BlockValues)
            {
                int n = (int)Math.Min(BlockValues, values - start);
                Shuffle(fp32Payload.AsSpan(checked(header.HeaderBytes + (int)(start * sizeof(float))), n * sizeof(float)), planes.AsSpan(0, PlaneCount * n), n);
                for (int j = 0; j < PlaneCount; j++)
                {
                    var plane = planes.AsSpan(j * n, n);
                    int written = j >= FirstCompressedPlane ? compressor.Wrap(plane, frame) : int.MaxValue;
                    bool compressed = written < n;
                    destination[position] = compressed ? ZstdMode : StoredMode;
                    BinaryPrimitives.WriteUInt32LittleEndian(destination[(position + 1)..], (uint)(compressed ? written : n));
                    position += PlanePrefixBytes;
                    var body = compressed ? frame.AsSpan(0, written) : plane;
                    body.CopyTo(destination[position..]);
                    position += body.Length;
                }
            }
            return position;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(planes);
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>The header of an fp32 payload that is to be compressed; refuses any other codec and a length that is not the header's.</summary>
    private static PayloadHeader ReadFp32Header(byte[] fp32Payload, ProtocolLimits? limits)
    {
        ArgumentNullException.ThrowIfNull(fp32Payload);
        EnsureLittleEndian();
        PayloadHeader header;
        using (var source = new MemoryStream(fp32Payload, writable: false))
            header = PayloadHeaderFormat.Read(source, fp32Payload.LongLength, limits ?? ProtocolLimits.Default);
        if (header.Codec != PayloadCodec.Fp32)
            throw new ArgumentException($"the payload's codec is {header.Codec}; only an fp32 payload compresses losslessly into {nameof(Fp32ShuffleZstd)}.", nameof(fp32Payload));
        if (header.TotalBytes != fp32Payload.LongLength)
            throw new ArgumentException($"the fp32 payload has {fp32Payload.LongLength} bytes but its header declares {header.TotalBytes}.", nameof(fp32Payload));
        return header;
    }

    /// <summary>
    /// The fp32 payload a compressed one stands for. Hostile input is refused with a <see cref="PayloadFormatException"/> before any
    /// memory beyond the header's own fp32 size (at most <paramref name="maxFp32Bytes"/>) is allocated: every zstd frame must declare
    /// exactly its plane's size, checked before it is decompressed, and decompresses into a buffer of exactly that size.
    /// </summary>
    public static byte[] Decode(byte[] payload, long maxFp32Bytes, ProtocolLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(payload);
        EnsureLittleEndian();
        PayloadHeader header;
        using (var source = new MemoryStream(payload, writable: false))
            header = PayloadHeaderFormat.Read(source, maxFp32Bytes, limits ?? ProtocolLimits.Default, CodecByte);
        if (header.TotalBytes > Array.MaxLength)
            throw new PayloadFormatException(PayloadError.Oversized, $"the compressed payload stands for {header.TotalBytes} fp32 bytes, more than one array holds ({Array.MaxLength}).");

        byte[] result = GC.AllocateUninitializedArray<byte>((int)header.TotalBytes);
        payload.AsSpan(0, header.HeaderBytes).CopyTo(result);
        result[5] = (byte)PayloadCodec.Fp32;
        long values = header.DataBytes / sizeof(float);
        int position = header.HeaderBytes;
        byte[] planes = ArrayPool<byte>.Shared.Rent(PlaneCount * (int)Math.Min(BlockValues, Math.Max(values, 1)));
        using var decompressor = new Decompressor();
        try
        {
            for (long start = 0; start < values; start += BlockValues)
            {
                int n = (int)Math.Min(BlockValues, values - start);
                for (int j = 0; j < PlaneCount; j++)
                    position = ReadPlane(payload, position, planes.AsSpan(j * n, n), decompressor, $"plane {j} of the block at value {start}");
                Unshuffle(planes.AsSpan(0, PlaneCount * n), result.AsSpan(checked(header.HeaderBytes + (int)(start * sizeof(float))), n * sizeof(float)), n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(planes);
        }
        if (position != payload.Length)
            throw new PayloadFormatException(PayloadError.TrailingBytes, $"{payload.Length - position} bytes follow the last compressed block; the payload must end there.");
        return result;
    }

    /// <summary>Reads one plane at <paramref name="position"/> into <paramref name="plane"/> (exactly its size); returns the position after it.</summary>
    private static int ReadPlane(byte[] payload, int position, Span<byte> plane, Decompressor decompressor, string what)
    {
        if (payload.Length - position < PlanePrefixBytes)
            throw new PayloadFormatException(PayloadError.Truncated, $"the payload ends before the mode and length of {what}.");
        byte mode = payload[position];
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(position + 1));
        position += PlanePrefixBytes;
        if (length > (uint)(payload.Length - position))
            throw new PayloadFormatException(PayloadError.Truncated, $"{what} declares {length} bytes but only {payload.Length - position} remain.");
        var data = payload.AsSpan(position, (int)length);
        switch (mode)
        {
            case StoredMode:
                if (length != plane.Length)
                    throw new PayloadFormatException(PayloadError.BadCompression, $"{what} is stored with {length} bytes; it has exactly {plane.Length}.");
                data.CopyTo(plane);
                break;
            case ZstdMode:
                ulong declared;
                try
                {
                    declared = Decompressor.GetDecompressedSize(data);
                }
                catch (ZstdException e)
                {
                    throw new PayloadFormatException(PayloadError.BadCompression, $"{what} is not zstd data that declares its size ({e.Message}); the download is corrupt: download it again.", e);
                }
                // A decompression bomb ends here: the frame's claim is checked before a byte is decompressed, into a buffer of the plane's size.
                if (declared != (ulong)plane.Length)
                    throw new PayloadFormatException(PayloadError.BadCompression, $"{what} declares {declared} decompressed bytes; the plane has exactly {plane.Length}. Refused before decompressing; download it again.");
                int written;
                try
                {
                    written = decompressor.Unwrap(data, plane);
                }
                catch (ZstdException e)
                {
                    throw new PayloadFormatException(PayloadError.BadCompression, $"{what} does not decompress ({e.Message}); the download is corrupt: download it again.", e);
                }
                if (written != plane.Length)
                    throw new PayloadFormatException(PayloadError.BadCompression, $"{what} decompresses to {written} bytes; the plane has exactly {plane.Length}.");
                break;
            default:
                throw new PayloadFormatException(PayloadError.BadCompression, $"{what} has mode {mode}; modes are {StoredMode} (stored) and {ZstdMode} (zstd).");
        }
        return position + (int)length;
    }

    /// <summary>Byte j of value i goes to <c>planes[j × n + i]</c>: the sign/exponent bytes of neighbouring values line up, which zstd can compress.</summary>
    public static void Shuffle(ReadOnlySpan<byte> values, Span<byte> planes, int n)
    {
        var words = MemoryMarshal.Cast<byte, uint>(values[..(n * sizeof(float))]);
        var p0 = planes[..n];
        var p1 = planes.Slice(n, n);
        var p2 = planes.Slice(2 * n, n);
        var p3 = planes.Slice(3 * n, n);
        for (int i = 0; i < words.Length; i++)
        {
            uint w = words[i];
            p0[i] = (byte)w;
            p1[i] = (byte)(w >> 8);
            p2[i] = (byte)(w >> 16);
            p3[i] = (byte)(w >> 24);
        }
    }

    /// <summary>The inverse of <see cref="Shuffle"/>.</summary>
    public static void Unshuffle(ReadOnlySpan<byte> planes, Span<byte> values, int n)
    {
        var words = MemoryMarshal.Cast<byte, uint>(values[..(n * sizeof(float))]);
        var p0 = planes[..n];
        var p1 = planes.Slice(n, n);
        var p2 = planes.Slice(2 * n, n);
        var p3 = planes.Slice(3 * n, n);
        for (int i = 0; i < words.Length; i++)
            words[i] = p0[i] | (uint)p1[i] << 8 | (uint)p2[i] << 16 | (uint)p3[i] << 24;
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("the tensor payload is little-endian and this codec reinterprets it in place; a big-endian machine is not supported.");
    }
}
