using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// The payload checks of the verification pipeline: the exact expected length of a shard's payload, codec, decodability, exactly the
/// shard's tensor names and shapes (checked from the header, before any tensor memory is allocated), finite values and a norm bound
/// per tensor group. Each failure is its own reject reason. (Envelope, signature, lease, round and idempotence checks live in
/// <see cref="CoordinatorEngine"/>, which owns that state.)
/// </summary>
public sealed class UpdateVerifier
{
    /// <summary>Values per slice of the one-pass decode and of every sum of squares: a slice and its encoded bytes stay in the L2 cache, and both paths add up the same slices, so they give the same norms.</summary>
    private const int SliceValues = 16 << 10;

    private readonly TensorGroups _groups;
    private readonly double _maxNorm;

    public UpdateVerifier(TensorGroups groups, double maxNorm)
    {
        _groups = groups;
        _maxNorm = maxNorm;
    }

    /// <summary>The exact length of an update of <paramref name="shard"/> in <paramref name="codec"/>: every other length is refused before a payload byte is read.</summary>
    public long ExpectedLength(ShardSpec shard, CodecSettings codec) =>
        TensorCodec.EncodedLength(_groups.NamesFor(shard).Select(n => (n, _groups.ShapeOf(n))), codec);

    /// <summary>Decodes a payload file (restart: payloads accepted before).</summary>
    public ParameterSet Decode(string payloadPath, ShardSpec shard, CodecSettings expectedCodec)
    {
        using var file = new FileStream(payloadPath, FileMode.Open, FileAccess.Read, FileShare.Read, 16 << 10, FileOptions.SequentialScan);
        return Decode(file, file.Length, shard, expectedCodec);
    }

    /// <summary>Decodes a received payload whose length and hash were already checked; names and shapes are checked from its header first.</summary>
    public ParameterSet Decode(byte[] payload, ShardSpec shard, CodecSettings expectedCodec)
    {
        using var stream = new MemoryStream(payload, writable: false);
        return Decode(stream, payload.LongLength, shard, expectedCodec);
    }

    /// <summary>
    /// Decodes <paramref name="length"/> bytes from <paramref name="source"/> (names and shapes from the header first); used on a stream
    /// that yields the bytes as they arrive, so decoding overlaps the transfer.
    /// </summary>
    public ParameterSet Decode(Stream source, long length, ShardSpec shard, CodecSettings expectedCodec)
    {
        try
        {
            return TensorCodec.Decode(source, length, null, header => CheckHeader(header, shard, expectedCodec)).Tensors;
        }
        catch (ProtocolException)
        {
            throw;
        }
        catch (Exception e) when (e is PayloadFormatException or InvalidDataException or ArgumentException or FormatException or OverflowException)
        {
            throw new ProtocolException(RejectReason.MalformedPayload, e.Message);
        }
    }

    /// <summary>Codec, names and shapes from the payload header, against the leased shard.</summary>
    public void CheckHeader(PayloadHeader header, ShardSpec shard, CodecSettings expectedCodec)
    {
        if (header.Codec != expectedCodec.Codec || header.KeptPerBlock != expectedCodec.KeptPerBlock)
            throw new ProtocolException(RejectReason.WrongCodec, $"the payload is encoded as {header.Settings}; the work unit says {expectedCodec}");
        var expected = _groups.NamesFor(shard);
        var names = header.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var missing = expected.Where(n => !names.Contains(n)).Take(3).ToList();
        var extra = names.Where(n => !expected.Contains(n)).Take(3).ToList();
        if (missing.Count > 0 || extra.Count > 0 || names.Count != expected.Count)
            throw new ProtocolException(RejectReason.WrongTensorNames,
                $"expected the {expected.Count} tensors of the leased shard; missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}]");
        foreach (var t in header.Tensors)
        {
            var shape = _groups.ShapeOf(t.Name);
            if (!t.Shape.AsSpan().SequenceEqual(shape))
                throw new ProtocolException(RejectReason.WrongShape, $"tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}]; expected [{string.Join(", ", shape)}]");
        }
    }

    /// <summary>Names, shapes, finiteness and the absolute norm bound of a decoded update; returns each tensor group's L2 norm.</summary>
    public IReadOnlyDictionary<string, double> Check(ParameterSet update, ShardSpec shard)
    {
        var expected = _groups.NamesFor(shard);
        var missing = expected.Where(n => !update.Contains(n)).Take(3).ToList();
        var extra = update.Names.Where(n => !expected.Contains(n)).Take(3).ToList();
        if (missing.Count > 0 || extra.Count > 0 || update.Count != expected.Count)
            throw new ProtocolException(RejectReason.WrongTensorNames,
                $"expected the {expected.Count} tensors of the leased shard; missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}]");
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var t in update)
        {
            var shape = _groups.ShapeOf(t.Name);
            if (!t.SameShape(shape))
                throw new ProtocolException(RejectReason.WrongShape, $"tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}]; expected [{string.Join(", ", shape)}]");
            double sq = 0;
            for (int start = 0; start < t.Values.Length; start += SliceValues)
                sq += SumOfSquares(t.Values.AsSpan(start, Math.Min(SliceValues, t.Values.Length - start)));
            ThrowIfNonFinite(t.Name, t.Values, sq);
            string key = TensorGroups.KeyOf(t.Name);
            sums[key] = sums.GetValueOrDefault(key) + sq;
        }
        return Norms(sums);
    }

    /// <summary>The payload's header as the stream gives it, refused as <c>malformed-payload</c> when unreadable and checked against the shard and codec.</summary>
    private PayloadHeader ReadCheckedHeader(Stream stream, long length, ShardSpec shard, CodecSettings expectedCodec)
    {
        PayloadHeader header;
        try
        {
            header = TensorCodec.ReadHeader(stream, length);
        }
        catch (Exception e) when (e is PayloadFormatException or InvalidDataException or ArgumentException or FormatException or OverflowException)
        {
            throw new ProtocolException(RejectReason.MalformedPayload, e.Message);
        }
        CheckHeader(header, shard, expectedCodec);
        return header;
    }

    /// <summary>
    /// The verdicts and norms of <see cref="Decode(Stream, long, ShardSpec, CodecSettings)"/> then <see cref="Check"/> (bit for bit, in
    /// the same order) without keeping a decoded copy, in one pass over <paramref name="payload"/> while it is still arriving
    /// (<paramref name="waitFor"/> blocks until at least the given number of bytes are in and throws when the stream failed; pass one
    /// that returns at once for a complete payload): for the dense codecs each slice is converted into one reused cache-sized scratch buffer, its sum of squares taken there, and the
    /// update stays in its wire form (<see cref="Decode(string, ShardSpec, CodecSettings)"/> turns the stored payload into floats
    /// when the round closes). The submit path then writes no fp32 memory at all: twice the payload's size of freshly faulted pages
    /// per update was its largest single cost, and the round held every decoded update until it closed.
    /// </summary>
    public IReadOnlyDictionary<string, double> CheckWire(ReadOnlyMemory<byte> payload, long length, Func<long, long> waitFor, ShardSpec shard, CodecSettings expectedCodec)
    {
        ArgumentNullException.ThrowIfNull(waitFor);
        if (expectedCodec.Codec is not (PayloadCodec.Fp16 or PayloadCodec.Fp32) || !BitConverter.IsLittleEndian)
            return DecodeThenCheck(payload, length, waitFor, shard, expectedCodec);
        PayloadHeader header;
        using (var stream = new ArrivingBytesStream(payload, length, waitFor))
            header = ReadCheckedHeader(stream, length, shard, expectedCodec);
        // Anything the one-pass loop does not cover (a length that disagrees with the header, a repeated name) takes the general
        // path, whose decoder words those rejections.
        if (header.TotalBytes != length || header.Tensors.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() != header.Tensors.Count)
            return DecodeThenCheck(payload, length, waitFor, shard, expectedCodec);
        int valueBytes = expectedCodec.Codec == PayloadCodec.Fp16 ? sizeof(ushort) : sizeof(float);
        float[] scratch = ArrayPool<float>.Shared.Rent(SliceValues);
        var sumsByTensor = new Dictionary<string, double>(StringComparer.Ordinal);
        var startOf = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            long at = header.HeaderBytes;
            foreach (var descriptor in header.Tensors)
            {
                startOf[descriptor.Name] = at;
                long count = descriptor.ElementCount;
                double sq = 0;
                for (long start = 0; start < count; start += SliceValues)
                {
                    int n = (int)Math.Min(SliceValues, count - start);
                    int bytes = n * valueBytes;
                    waitFor(at + bytes);
                    var slice = scratch.AsSpan(0, n);
                    ConvertSlice(payload.Span.Slice(checked((int)at), bytes), slice, valueBytes);
                    sq += SumOfSquares(slice);
                    at += bytes;
                }
                sumsByTensor[descriptor.Name] = sq;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
        // Verdicts and sums in Check's order (ordinal name order): the same tensor is named and every bit of the norms agrees.
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var descriptor in header.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            double sq = sumsByTensor[descriptor.Name];
            // Only a payload with a non-finite sum (an attack, or a broken trainer) is decoded, to name the value and its index.
            if (!double.IsFinite(sq))
            {
                var values = new float[checked((int)descriptor.ElementCount)];
                ConvertSlice(payload.Span.Slice(checked((int)startOf[descriptor.Name]), values.Length * valueBytes), values, valueBytes);
                ThrowIfNonFinite(descriptor.Name, values, sq);
            }
            string key = TensorGroups.KeyOf(descriptor.Name);
            sums[key] = sums.GetValueOrDefault(key) + sq;
        }
        return Norms(sums);
    }

    private static void ConvertSlice(ReadOnlySpan<byte> source, Span<float> destination, int valueBytes)
    {
        if (valueBytes == sizeof(ushort)) TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
        else MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
    }

    private IReadOnlyDictionary<string, double> DecodeThenCheck(ReadOnlyMemory<byte> payload, long length, Func<long, long> waitFor, ShardSpec shard, CodecSettings expectedCodec)
    {
        using var stream = new ArrivingBytesStream(payload, length, waitFor);
        return Check(Decode(stream, length, shard, expectedCodec), shard);
    }

    /// <summary>One slice's sum of squares in single precision (fast, and a NaN or ±Inf makes it NaN or +Inf), added up in double.</summary>
    private static double SumOfSquares(ReadOnlySpan<float> slice) => TensorPrimitives.Dot(slice, slice);

    /// <summary>
    /// A sum of squares is finite exactly when every value is (a NaN or ±Inf makes it NaN or +Inf), so the search for the offending
    /// value runs only when it is not; a finite-valued overflow is no NonFinite and ends as NormTooLarge.
    /// </summary>
    private static void ThrowIfNonFinite(string name, float[] values, double sumOfSquares)
    {
        if (double.IsFinite(sumOfSquares) || values.Length == 0) return;
        int bad = TensorPrimitives.IndexOfMaxMagnitude<float>(values);
        if (!float.IsFinite(values[bad]))
            throw new ProtocolException(RejectReason.NonFinite, $"tensor '{name}' holds {values[bad]} at index {bad}");
    }

    private IReadOnlyDictionary<string, double> Norms(Dictionary<string, double> sums)
    {
        var norms = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, sq) in sums)
        {
            double norm = Math.Sqrt(sq);
            if (norm > _maxNorm)
                throw new ProtocolException(RejectReason.NormTooLarge, $"the {key} update has L2 norm {norm:G4}, above the bound {_maxNorm:G4} (--max-update-norm)");
            norms[key] = norm;
        }
        return norms;
    }
}
