using System.Buffers;
using System.Runtime.InteropServices;

namespace Hivemind.Protocol.Tensors;

/// <summary>
/// Encodes tensors into one payload (header with names and shapes, then each tensor's data in header order) and decodes
/// hostile payloads with strict validation. Streaming-friendly: the header comes first and data is written and read in slices.
/// </summary>
/// <remarks>
/// Data layout per tensor, little-endian: fp32 = n × f32; fp16 = n × f16; int8 = ⌈n/256⌉ blocks of (f32 scale, up to 256 × i8),
/// value = i8 × scale; top-k 4/2-bit: see <see cref="SparseBlockCodec"/>. A Python reader needs only numpy: <c>np.frombuffer(..., '&lt;f2')</c> and so on.
/// </remarks>
public static class TensorCodec
{
    /// <summary>Values per int8 block: one f32 scale per 256 values costs 1.6% in size and bounds the error by each block's own max.</summary>
    public const int Int8BlockSize = 256;

    /// <summary>Largest int8 level used; symmetric, so -128 is never produced.</summary>
    public const float Int8MaxLevel = 127f;

    /// <summary>Blocks whose largest magnitude is below this encode as zero: far below any useful update, and it keeps 127/max finite.</summary>
    public const float Int8FlushBelow = 1e-30f;

    /// <summary>Values converted per slice when streaming: a whole number of int8 blocks, small enough to stay in cache.</summary>
    private const int SliceValues = 64 * Int8BlockSize;

    /// <summary>Bytes of data (no header) for <paramref name="count"/> values in <paramref name="codec"/>.</summary>
    /// <remarks>The size function the simulator's byte model calls: a payload of a shard is its header plus this per tensor.</remarks>
    public static long DataBytes(long count, CodecSettings codec) => codec.Codec switch
    {
        PayloadCodec.Fp32 => checked(count * 4),
        PayloadCodec.Fp16 => checked(count * 2),
        PayloadCodec.Int8Block => checked(count + 4 * ((count + Int8BlockSize - 1) / Int8BlockSize)),
        PayloadCodec.TopK4 or PayloadCodec.TopK2 => SparseBlockCodec.DataBytes(count, codec.KeptPerBlock, codec.Bits),
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "not a known codec."),
    };

    /// <summary>Exact payload length, to sign into an envelope before streaming.</summary>
    public static long EncodedLength(IEnumerable<NamedTensor> tensors, CodecSettings codec)
    {
        var list = tensors.ToList();
        return PayloadHeaderFormat.Length(list) + list.Sum(t => DataBytes(t.Count, codec));
    }

    /// <summary>Exact payload length of tensors with these names and shapes, before any values exist (what a receiver expects).</summary>
    public static long EncodedLength(IEnumerable<(string Name, long[] Shape)> tensors, CodecSettings codec)
    {
        long length = PayloadHeaderFormat.FixedBytes;
        foreach (var (name, shape) in tensors)
        {
            long count = 1;
            foreach (long d in shape) count = checked(count * d);
            length = checked(length + 2 + System.Text.Encoding.UTF8.GetByteCount(name) + 1 + 8L * shape.Length + DataBytes(count, codec));
        }
        return length;
    }

    /// <summary>The payload in a new array of exactly its length. A new multi-MiB array costs a page fault per 4 KiB at its first touch,
    /// more than the encoding itself; a path that encodes repeatedly should use <see cref="Encode(IEnumerable{NamedTensor}, CodecSettings, PayloadBufferPool, ProtocolLimits?)"/>.</summary>
    public static byte[] Encode(IEnumerable<NamedTensor> tensors, CodecSettings codec, ProtocolLimits? limits = null)
    {
        var list = tensors.ToList();
        int length = ArrayLength(list, codec);
        // Uninitialised: every byte is written below, and zeroing a fresh multi-MiB array costs more than encoding it.
        var buffer = GC.AllocateUninitializedArray<byte>(length);
        Encode(list, codec, buffer.AsSpan(), limits);
        return buffer;
    }

    /// <summary>
    /// The payload in a buffer rented from <paramref name="buffers"/> (bytes identical to the array-returning <c>Encode</c>); the buffer
    /// goes back to the pool when the returned lease and every share of it are disposed.
    /// </summary>
    public static PayloadLease Encode(IEnumerable<NamedTensor> tensors, CodecSettings codec, PayloadBufferPool buffers, ProtocolLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        var list = tensors.ToList();
        int length = ArrayLength(list, codec);
        return PayloadLease.Encode(buffers, length, buffer => Encode(list, codec, buffer.AsSpan(0, length), limits));
    }

    /// <summary>
    /// Writes the payload into <paramref name="destination"/>, which must hold at least <see cref="EncodedLength(IEnumerable{NamedTensor}, CodecSettings)"/>
    /// bytes (the exact length, known before encoding), and returns that length. The bytes are those the stream overload writes.
    /// </summary>
    public static int Encode(IReadOnlyList<NamedTensor> tensors, CodecSettings codec, Span<byte> destination, ProtocolLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (!Enum.IsDefined(codec.Codec)) throw new ArgumentOutOfRangeException(nameof(codec), codec, "not a known codec.");
        EnsureLittleEndian();
        int length = ArrayLength(tensors, codec);
        if (destination.Length < length)
            throw new ArgumentException($"the payload is {length} bytes; the destination holds {destination.Length}.", nameof(destination));
        int headerBytes = PayloadHeaderFormat.Length(tensors);
        byte[] header = ArrayPool<byte>.Shared.Rent(headerBytes);
        try
        {
            using var stream = new MemoryStream(header, 0, headerBytes, writable: true);
            PayloadHeaderFormat.Write(stream, tensors, codec, limits ?? ProtocolLimits.Default);
            header.AsSpan(0, headerBytes).CopyTo(destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(header);
        }
        int at = headerBytes;
        foreach (var tensor in tensors)
        {
            var values = tensor.Values.AsSpan();
            if (codec.Codec == PayloadCodec.Fp32)
            {
                MemoryMarshal.AsBytes(values).CopyTo(destination[at..]);
                at += values.Length * sizeof(float);
                continue;
            }
            // The same slices as the stream overload, so a sparse codec sees the same blocks; each writes straight into the destination.
            for (int start = 0; start < values.Length; start += SliceValues)
            {
                var slice = values.Slice(start, Math.Min(SliceValues, values.Length - start));
                int bytes = (int)DataBytes(slice.Length, codec);
                EncodeSlice(slice, codec, destination.Slice(at, bytes));
                at += bytes;
            }
        }
        return at == length ? length : throw new InvalidOperationException($"wrote {at} bytes of a {length}-byte payload.");
    }

    // One slice of a lossy codec's data (fp32 is copied whole), the same for the span and the stream encoder.
    private static void EncodeSlice(ReadOnlySpan<float> slice, CodecSettings codec, Span<byte> output)
    {
        if (codec.Codec == PayloadCodec.Fp16) ValueCodec.EncodeFp16(slice, output);
        else if (codec.Sparse) SparseBlockCodec.Encode(slice, codec.KeptPerBlock, codec.Bits, output);
        else ValueCodec.EncodeInt8(slice, output);
    }

    private static int ArrayLength(IReadOnlyList<NamedTensor> tensors, CodecSettings codec)
    {
        long length = EncodedLength(tensors, codec);
        if (length > Array.MaxLength)
            throw new ArgumentException($"the payload would be {length} bytes, more than one array holds; use Encode(tensors, codec, stream).", nameof(tensors));
        return (int)length;
    }

    /// <summary>Writes the payload to <paramref name="destination"/> slice by slice; memory use is one slice, not the payload.</summary>
    public static void Encode(IEnumerable<NamedTensor> tensors, CodecSettings codec, Stream destination, ProtocolLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(destination);
        if (!Enum.IsDefined(codec.Codec)) throw new ArgumentOutOfRangeException(nameof(codec), codec, "not a known codec.");
        EnsureLittleEndian();
        var list = tensors as IReadOnlyList<NamedTensor> ?? tensors.ToList();
        PayloadHeaderFormat.Write(destination, list, codec, limits ?? ProtocolLimits.Default);

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)DataBytes(SliceValues, PayloadCodec.Int8Block) + 4 * SliceValues);
        try
        {
            foreach (var tensor in list)
            {
                var values = tensor.Values.AsSpan();
                if (codec.Codec == PayloadCodec.Fp32)
                {
                    destination.Write(MemoryMarshal.AsBytes(values));
                    continue;
                }
                for (int start = 0; start < values.Length; start += SliceValues)
                {
                    var slice = values.Slice(start, Math.Min(SliceValues, values.Length - start));
                    int bytes = (int)DataBytes(slice.Length, codec);
                    EncodeSlice(slice, codec, buffer);
                    destination.Write(buffer, 0, bytes);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Decodes a whole in-memory payload; see <see cref="Decode(Stream, long, ProtocolLimits?)"/>.</summary>
    public static TensorPayload Decode(byte[] payload, long maxPayloadBytes, ProtocolLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return Decode(payload.AsMemory(), maxPayloadBytes, limits);
    }

    /// <summary>Decodes a whole in-memory payload (e.g. a pooled one, <see cref="PayloadLease.Bytes"/>); see <see cref="Decode(Stream, long, ProtocolLimits?)"/>.</summary>
    public static TensorPayload Decode(ReadOnlyMemory<byte> payload, long maxPayloadBytes, ProtocolLimits? limits = null)
    {
        if (payload.Length > maxPayloadBytes)
            throw new PayloadFormatException(PayloadError.Oversized, $"the payload has {payload.Length} bytes, above the limit of {maxPayloadBytes}.");
        using var stream = ReadOnlyStream(payload);
        return Decode(stream, maxPayloadBytes, limits);
    }

    private static MemoryStream ReadOnlyStream(ReadOnlyMemory<byte> bytes) =>
        MemoryMarshal.TryGetArray(bytes, out var segment) ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);

    /// <summary>Reads only the header (names, shapes, codec), e.g. to check names and shapes before the data arrives.</summary>
    public static PayloadHeader ReadHeader(Stream source, long maxPayloadBytes, ProtocolLimits? limits = null) =>
        PayloadHeaderFormat.Read(source, maxPayloadBytes, limits ?? ProtocolLimits.Default);

    /// <summary>
    /// Decodes a payload from <paramref name="source"/>, which must hold exactly one payload. Throws <see cref="PayloadFormatException"/>
    /// with a distinct <see cref="PayloadError"/> for each problem; sizes are checked against <paramref name="maxPayloadBytes"/> before allocating.
    /// Values are not checked for finiteness (fp32/fp16 can carry NaN): that is the verifier's job and its own rejection.
    /// </summary>
    public static TensorPayload Decode(Stream source, long maxPayloadBytes, ProtocolLimits? limits = null) => Decode(source, maxPayloadBytes, limits, null);

    /// <summary>
    /// As <see cref="Decode(Stream, long, ProtocolLimits?)"/>, but <paramref name="checkHeader"/> sees the names, shapes and codec
    /// before any tensor memory is allocated, and throws to refuse them (e.g. names or shapes that are not the expected shard's).
    /// </summary>
    public static TensorPayload Decode(Stream source, long maxPayloadBytes, ProtocolLimits? limits, Action<PayloadHeader>? checkHeader)
    {
        ArgumentNullException.ThrowIfNull(source);
        EnsureLittleEndian();
        if (source.CanSeek && source.Length - source.Position > maxPayloadBytes)
            throw new PayloadFormatException(PayloadError.Oversized, $"the payload has {source.Length - source.Position} bytes, above the limit of {maxPayloadBytes}.");
        var header = ReadHeader(source, maxPayloadBytes, limits);
        checkHeader?.Invoke(header);
        if (source.CanSeek && source.Length - source.Position < header.DataBytes)
            throw new PayloadFormatException(PayloadError.Truncated, $"the header declares {header.DataBytes} data bytes but only {source.Length - source.Position} follow.");

        var tensors = new ParameterSet();
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)DataBytes(SliceValues, PayloadCodec.Int8Block) + 4 * SliceValues);
        try
        {
            foreach (var descriptor in header.Tensors)
            {
                // Uninitialised: ReadValues fills every element or throws.
                var values = GC.AllocateUninitializedArray<float>((int)descriptor.ElementCount);
                ReadValues(source, header.Settings, descriptor, values, buffer);
                tensors.Add(new NamedTensor(descriptor.Name, descriptor.Shape, values));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (source.ReadByte() >= 0)
            throw new PayloadFormatException(PayloadError.TrailingBytes, $"bytes remain after the {header.TotalBytes} bytes the header declares.");
        return new TensorPayload(header, tensors);
    }

    private static void ReadValues(Stream source, CodecSettings codec, TensorDescriptor descriptor, float[] values, byte[] buffer)
    {
        string what = $"the data of tensor '{descriptor.Name}'";
        if (codec.Codec == PayloadCodec.Fp32)
        {
            PayloadHeaderFormat.ReadExactly(source, MemoryMarshal.AsBytes(values.AsSpan()), what);
            return;
        }
        for (int start = 0; start < values.Length; start += SliceValues)
        {
            var slice = values.AsSpan(start, Math.Min(SliceValues, values.Length - start));
            var bytes = buffer.AsSpan(0, (int)DataBytes(slice.Length, codec));
            PayloadHeaderFormat.ReadExactly(source, bytes, what);
            if (codec.Codec == PayloadCodec.Fp16)
            {
                ValueCodec.DecodeFp16(bytes, slice);
                continue;
            }
            if (codec.Sparse)
            {
                if (SparseBlockCodec.Decode(bytes, slice, codec.KeptPerBlock, codec.Bits) is { } bad)
                {
                    long block = start / SparseBlockCodec.BlockSize + bad.Block;
                    throw new PayloadFormatException(bad.Error,
                        $"{codec.Codec} block {block} of tensor '{descriptor.Name}' {bad.Problem}.");
                }
                continue;
            }
            int badBlock = ValueCodec.DecodeInt8(bytes, slice);
            if (badBlock >= 0)
            {
                int block = start / Int8BlockSize + badBlock;
                float scale = BitConverter.ToSingle(bytes[(badBlock * (Int8BlockSize + 4))..]);
                throw new PayloadFormatException(PayloadError.NonFiniteScale, $"int8 block {block} of tensor '{descriptor.Name}' has scale {scale}; scales must be finite and non-negative (the sender's values were NaN or infinite).");
            }
        }
    }

    /// <summary>
    /// The payload restricted to the tensors <paramref name="keep"/> accepts, in the original order, data copied byte for byte (so a
    /// shard's part of a step decodes to exactly the values the whole step does).
    /// </summary>
    public static byte[] Subset(ReadOnlyMemory<byte> payload, Func<string, bool> keep, long maxPayloadBytes)
    {
        ArgumentNullException.ThrowIfNull(keep);
        using var source = ReadOnlyStream(payload);
        var header = ReadHeader(source, maxPayloadBytes);
        if (header.TotalBytes != payload.Length)
            throw new PayloadFormatException(header.TotalBytes > payload.Length ? PayloadError.Truncated : PayloadError.TrailingBytes,
                $"the payload has {payload.Length} bytes; its header declares {header.TotalBytes}.");
        var kept = new List<TensorDescriptor>();
        var ranges = new List<(long Start, long Length)>();
        long at = header.HeaderBytes;
        foreach (var t in header.Tensors)
        {
            long length = DataBytes(t.ElementCount, header.Settings);
            if (keep(t.Name))
            {
                kept.Add(t);
                ranges.Add((at, length));
            }
            at += length;
        }
        using var output = new MemoryStream();
        PayloadHeaderFormat.Write(output, kept, header.Settings, ProtocolLimits.Default);
        foreach (var (start, length) in ranges) output.Write(payload.Span.Slice((int)start, (int)length));
        return output.ToArray();
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("the tensor codec reinterprets memory as little-endian floats and needs a little-endian CPU.");
    }
}
