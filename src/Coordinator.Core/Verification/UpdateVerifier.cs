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
        // One pass per tensor: the sum of squares is finite exactly when every value is (a NaN or ±Inf makes it NaN or +Inf),
        // so the search for the offending value runs only when it is not; a finite-valued overflow still ends as NormTooLarge.
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var t in update)
        {
            var shape = _groups.ShapeOf(t.Name);
            if (!t.SameShape(shape))
                throw new ProtocolException(RejectReason.WrongShape, $"tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}]; expected [{string.Join(", ", shape)}]");
            float sq = System.Numerics.Tensors.TensorPrimitives.Dot<float>(t.Values, t.Values);
            if (!float.IsFinite(sq))
            {
                int bad = System.Numerics.Tensors.TensorPrimitives.IndexOfMaxMagnitude<float>(t.Values);
                if (t.Values.Length > 0 && !float.IsFinite(t.Values[bad]))
                    throw new ProtocolException(RejectReason.NonFinite, $"tensor '{t.Name}' holds {t.Values[bad]} at index {bad}");
            }
            string key = TensorGroups.KeyOf(t.Name);
            sums[key] = sums.GetValueOrDefault(key) + sq;
        }
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
