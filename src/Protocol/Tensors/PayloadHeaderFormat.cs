using System.Buffers.Binary;
using System.Text;

namespace Hivemind.Protocol.Tensors;

/// <summary>
/// Writes and reads the payload header, little-endian:
/// <c>"HMTP" | u8 format=1 | u8 codec | u16 parameter | u32 count | count × (u16 nameLength | UTF-8 name | u8 rank | rank × i64 dim)</c>.
/// The parameter is 0 (reserved) for dense codecs and the values kept per block for the top-k codecs.
/// </summary>
internal static class PayloadHeaderFormat
{
    public const byte FormatVersion = 1;

    public const int FixedBytes = 12;

    private static ReadOnlySpan<byte> Magic => "HMTP"u8;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static int Length(IReadOnlyList<NamedTensor> tensors)
    {
        int length = FixedBytes;
        foreach (var t in tensors) length = checked(length + 2 + StrictUtf8.GetByteCount(t.Name) + 1 + 8 * t.Shape.Length);
        return length;
    }

    public static void Write(Stream destination, IReadOnlyList<NamedTensor> tensors, CodecSettings codec, ProtocolLimits limits) =>
        Write(destination, tensors.Select(t => new TensorDescriptor(t.Name, t.Shape)).ToList(), codec, limits);

    public static void Write(Stream destination, IReadOnlyList<TensorDescriptor> tensors, CodecSettings codec, ProtocolLimits limits)
    {
        if (tensors.Count > limits.MaxTensorCount)
            throw new ArgumentException($"{tensors.Count} tensors exceed the payload limit of {limits.MaxTensorCount}.", nameof(tensors));
        Span<byte> fixedPart = stackalloc byte[FixedBytes];
        Magic.CopyTo(fixedPart);
        fixedPart[4] = FormatVersion;
        fixedPart[5] = (byte)codec.Codec;
        BinaryPrimitives.WriteUInt16LittleEndian(fixedPart[6..], (ushort)codec.KeptPerBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(fixedPart[8..], (uint)tensors.Count);
        destination.Write(fixedPart);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        Span<byte> scratch = stackalloc byte[8];
        foreach (var t in tensors)
        {
            if (!seen.Add(t.Name)) throw new ArgumentException($"tensor '{t.Name}' appears twice in the payload.", nameof(tensors));
            byte[] name = StrictUtf8.GetBytes(t.Name);
            if (name.Length > limits.MaxTensorNameBytes)
                throw new ArgumentException($"tensor name '{t.Name}' has {name.Length} UTF-8 bytes, above the limit of {limits.MaxTensorNameBytes}.", nameof(tensors));
            if (t.Shape.Length > limits.MaxTensorRank)
                throw new ArgumentException($"tensor '{t.Name}' has rank {t.Shape.Length}, above the limit of {limits.MaxTensorRank}.", nameof(tensors));
            BinaryPrimitives.WriteUInt16LittleEndian(scratch, (ushort)name.Length);
            destination.Write(scratch[..2]);
            destination.Write(name);
            destination.WriteByte((byte)t.Shape.Length);
            foreach (long dim in t.Shape)
            {
                BinaryPrimitives.WriteInt64LittleEndian(scratch, dim);
                destination.Write(scratch);
            }
        }
    }

    /// <param name="fp32Alias">
    /// When set, the codec byte must be exactly this value and the header is read as an fp32 payload's (sizes are the fp32 ones):
    /// the compressed full download (<see cref="Fp32ShuffleZstd"/>) carries the fp32 header under its own codec byte.
    /// </param>
    // One more than the most elements a tensor may have (one array).
    private static readonly long ElementCap = Array.MaxLength + 1L;

    public static PayloadHeader Read(Stream source, long maxPayloadBytes, ProtocolLimits limits, byte? fp32Alias = null)
    {
        Span<byte> fixedPart = stackalloc byte[FixedBytes];
        ReadExactly(source, fixedPart, "the fixed header");
        if (!fixedPart[..4].SequenceEqual(Magic))
            throw new PayloadFormatException(PayloadError.BadMagic, $"the payload starts with 0x{Convert.ToHexString(fixedPart[..4])}, not the magic \"HMTP\"; it is not a Hivemind tensor payload.");
        if (fixedPart[4] != FormatVersion)
            throw new PayloadFormatException(PayloadError.UnsupportedFormat, $"payload format version {fixedPart[4]} is not supported (this build reads {FormatVersion}); upgrade the reader.");
        var codec = (PayloadCodec)fixedPart[5];
        if (fp32Alias is { } alias)
        {
            if (fixedPart[5] != alias)
                throw new PayloadFormatException(PayloadError.UnknownCodec, $"codec byte {fixedPart[5]} is not {alias}, the compressed fp32 form this reader expects.");
            codec = PayloadCodec.Fp32;
        }
        if (!Enum.IsDefined(codec))
            throw new PayloadFormatException(PayloadError.UnknownCodec, $"codec byte {fixedPart[5]} is not a known codec ({string.Join(", ", Enum.GetValues<PayloadCodec>().Select(c => $"{(byte)c}={c}"))}).");
        ushort reserved = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[6..]);
        bool sparse = CodecSettings.IsSparse(codec);
        if (reserved != 0 && !sparse)
            throw new PayloadFormatException(PayloadError.ReservedNotZero, $"reserved header bytes are 0x{reserved:x4}, must be zero for codec {codec}.");
        if (sparse && reserved is < 1 or > SparseBlockCodec.MaxKeptPerBlock)
            throw new PayloadFormatException(PayloadError.BadCodecParameter, $"codec {codec} declares {reserved} kept values per block; it keeps 1..{SparseBlockCodec.MaxKeptPerBlock} of {SparseBlockCodec.BlockSize}.");
        var settings = new CodecSettings(codec, sparse ? reserved : 0);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[8..]);
        if (count > limits.MaxTensorCount)
            throw new PayloadFormatException(PayloadError.TooManyTensors, $"the payload declares {count} tensors, above the limit of {limits.MaxTensorCount}.");

        var tensors = new List<TensorDescriptor>((int)count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long headerBytes = FixedBytes;
        long dataBytes = 0;
        Span<byte> scratch = stackalloc byte[8];
        byte[] nameBuffer = new byte[limits.MaxTensorNameBytes];
        for (int i = 0; i < count; i++)
        {
            ReadExactly(source, scratch[..2], $"the name length of tensor {i}");
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(scratch);
            if (nameLength == 0 || nameLength > limits.MaxTensorNameBytes)
                throw new PayloadFormatException(PayloadError.BadName, $"tensor {i} has a {nameLength}-byte name; names have 1..{limits.MaxTensorNameBytes} bytes.");
            ReadExactly(source, nameBuffer.AsSpan(0, nameLength), $"the name of tensor {i}");
            string name;
            try
            {
                name = StrictUtf8.GetString(nameBuffer, 0, nameLength);
            }
            catch (DecoderFallbackException e)
            {
                throw new PayloadFormatException(PayloadError.BadName, $"the name of tensor {i} is not valid UTF-8.", e);
            }
            if (!seen.Add(name))
                throw new PayloadFormatException(PayloadError.DuplicateName, $"tensor '{name}' appears twice in the payload.");
            ReadExactly(source, scratch[..1], $"the rank of tensor '{name}'");
            int rank = scratch[0];
            if (rank > limits.MaxTensorRank)
                throw new PayloadFormatException(PayloadError.RankTooLarge, $"tensor '{name}' has rank {rank}, above the limit of {limits.MaxTensorRank}.");
            var shape = new long[rank];
            long elements = 1;
            for (int d = 0; d < rank; d++)
            {
                ReadExactly(source, scratch, $"the shape of tensor '{name}'");
                shape[d] = BinaryPrimitives.ReadInt64LittleEndian(scratch);
                if (shape[d] < 0)
                    throw new PayloadFormatException(PayloadError.BadShape, $"tensor '{name}' has negative dimension {shape[d]} at index {d}.");
                // Any count above one array's length is refused just below; capping there keeps the product from overflowing. (Not at the
                // byte limit: a sparse codec spends far less than a byte per value, so that cap under-counted its data.)
                elements = shape[d] == 0 ? 0 : elements > ElementCap / shape[d] ? ElementCap : elements * shape[d];
            }
            if (elements > Array.MaxLength)
                throw new PayloadFormatException(PayloadError.Oversized, $"tensor '{name}' [{string.Join(", ", shape)}] has more elements than one array can hold ({Array.MaxLength}).");
            headerBytes += 2 + nameLength + 1 + 8L * rank;
            dataBytes += TensorCodec.DataBytes(elements, settings);
            if (headerBytes + dataBytes > maxPayloadBytes)
                throw new PayloadFormatException(PayloadError.Oversized, $"the payload declares at least {headerBytes + dataBytes} bytes by tensor '{name}', above the limit of {maxPayloadBytes}.");
            tensors.Add(new TensorDescriptor(name, shape));
        }
        return new PayloadHeader(codec, tensors, (int)headerBytes, dataBytes) { KeptPerBlock = settings.KeptPerBlock };
    }

    public static void ReadExactly(Stream source, Span<byte> buffer, string what)
    {
        try
        {
            source.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new PayloadFormatException(PayloadError.Truncated, $"the payload ends inside {what}.", e);
        }
    }
}
