using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// The payload checks of the verification pipeline: codec, decodability, exactly the shard's tensor names,
/// their shapes, finite values and a norm bound per tensor group. Each failure is its own reject reason.
/// (Envelope, signature, lease, round and replay checks live in <see cref="CoordinatorEngine"/>, which owns that state.)
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

    public ParameterSet Decode(string payloadPath, UpdateEnvelope envelope, ShardSpec shard, PayloadCodec expectedCodec)
    {
        if (envelope.Codec != expectedCodec)
            throw new ProtocolException(RejectReason.WrongCodec, $"the update uses codec {envelope.Codec}; this coordinator requires {expectedCodec}");
        ParameterSet update;
        try
        {
            // Decoded straight from the file (no intermediate copy of the whole payload); reads above the 16 KiB buffer go directly
            // into the decoder's slices. The length limit is the file's own length, as for the former in-memory decode.
            using var file = new FileStream(payloadPath, FileMode.Open, FileAccess.Read, FileShare.Read, 16 << 10, FileOptions.SequentialScan);
            var decoded = TensorCodec.Decode(file, file.Length);
            update = decoded.Tensors;
            var codec = decoded.Codec;
            if (codec != expectedCodec)
                throw new ProtocolException(RejectReason.WrongCodec, $"the payload is encoded as {codec}; the envelope and the work unit say {expectedCodec}");
        }
        catch (ProtocolException)
        {
            throw;
        }
        catch (Exception e) when (e is PayloadFormatException or InvalidDataException or ArgumentException or FormatException or OverflowException)
        {
            throw new ProtocolException(RejectReason.MalformedPayload, e.Message);
        }
        Check(update, shard);
        return update;
    }

    /// <summary>Names, shapes, finiteness and norm of an already decoded update.</summary>
    public void Check(ParameterSet update, ShardSpec shard)
    {
        var expected = _groups.NamesFor(shard);
        var missing = expected.Where(n => !update.Contains(n)).Take(3).ToList();
        var extra = update.Names.Where(n => !expected.Contains(n)).Take(3).ToList();
        if (missing.Count > 0 || extra.Count > 0 || update.Count != expected.Count)
            throw new ProtocolException(RejectReason.WrongTensorNames,
                $"expected the {expected.Count} tensors of the leased shard; missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}]");
        // One pass per tensor: the sum of squares is finite exactly when every value is (a NaN or ±Inf makes it NaN or +Inf),
        // so the search for the offending value runs only when it is not; a finite-valued overflow still ends as NormTooLarge.
        var squares = new double[update.Count];
        int i = 0;
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
            squares[i++] = sq;
        }
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        i = 0;
        foreach (var t in update)
        {
            string key = TensorGroups.KeyOf(t.Name);
            double sq = squares[i++];
            sums[key] = sums.GetValueOrDefault(key) + sq;
        }
        foreach (var (key, sq) in sums)
        {
            double norm = Math.Sqrt(sq);
            if (norm > _maxNorm)
                throw new ProtocolException(RejectReason.NormTooLarge, $"the {key} update has L2 norm {norm:G4}, above the bound {_maxNorm:G4} (--max-update-norm)");
        }
    }
}
