namespace Hivemind.Protocol.Tensors;

/// <summary>
/// Error feedback for a lossy codec: what an encoding did not carry (values not kept, quantization error) is kept as a residual and
/// added to the next update of the same tensor, so it is delayed rather than lost. Residuals are by tensor name: a volunteer whose
/// next shard differs keeps the residual of the tensors it no longer holds until it holds them again (or forgets them).
/// </summary>
/// <remarks>The residual is computed from the decoded payload itself, so it is exact whatever the codec rounds.</remarks>
public sealed class ErrorFeedback
{
    private readonly Dictionary<string, float[]> _residual = new(StringComparer.Ordinal);

    /// <summary>Tensors with a residual.</summary>
    public int Count => _residual.Count;

    /// <summary>Sum of squares of every residual (how much is owed to later updates).</summary>
    public double SquaredNorm => _residual.Values.Sum(r => (double)System.Numerics.Tensors.TensorPrimitives.Dot<float>(r, r));

    /// <summary>Encodes <paramref name="update"/> plus the residual, and keeps what the payload does not carry as the new residual.</summary>
    public byte[] Encode(ParameterSet update, CodecSettings codec)
    {
        ArgumentNullException.ThrowIfNull(update);
        var sum = new ParameterSet();
        foreach (var t in update)
        {
            var values = (float[])t.Values.Clone();
            if (_residual.TryGetValue(t.Name, out var r) && r.Length == values.Length)
                System.Numerics.Tensors.TensorPrimitives.Add(values, r, values);
            sum.Add(new NamedTensor(t.Name, t.Shape, values));
        }
        byte[] payload = TensorCodec.Encode(sum, codec);
        var sent = TensorCodec.Decode(payload, payload.LongLength).Tensors;
        foreach (var t in sum)
        {
            System.Numerics.Tensors.TensorPrimitives.Subtract(t.Values, sent[t.Name].Values, t.Values);
            _residual[t.Name] = t.Values;
        }
        return payload;
    }

    /// <summary>Drops every residual (e.g. after a long absence: an old residual is a stale gradient).</summary>
    public void Clear() => _residual.Clear();

    /// <summary>The residuals as an fp32 payload (to keep them across restarts in the volunteer's cache).</summary>
    public byte[] Save() => TensorCodec.Encode(_residual.OrderBy(kv => kv.Key, StringComparer.Ordinal)
        .Select(kv => new NamedTensor(kv.Key, [kv.Value.Length], kv.Value)), PayloadCodec.Fp32);

    /// <summary>Reads residuals saved by <see cref="Save"/>; throws <see cref="PayloadFormatException"/> for anything else.</summary>
    public static ErrorFeedback Load(byte[] saved, long maxBytes)
    {
        var payload = TensorCodec.Decode(saved, maxBytes);
        if (payload.Codec != PayloadCodec.Fp32)
            throw new PayloadFormatException(PayloadError.UnknownCodec, $"saved residuals are fp32; this file holds {payload.Codec}. Delete it to start without residuals.");
        var feedback = new ErrorFeedback();
        foreach (var t in payload.Tensors) feedback._residual[t.Name] = t.Values;
        return feedback;
    }
}
