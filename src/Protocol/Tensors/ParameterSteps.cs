namespace Hivemind.Protocol.Tensors;

/// <summary>
/// Encoded parameter steps (small downloads): version v + 1 is DEFINED as fp32(θ_v + decode(step_v)), computed element by element,
/// so the coordinator and every volunteer that applies the same steps hold bit-identical parameters.
/// </summary>
public static class ParameterSteps
{
    /// <summary>Adds the decoded step to <paramref name="parameters"/> in place; every step tensor must exist with its shape (checked first).</summary>
    public static void Apply(ParameterSet parameters, ParameterSet decodedStep)
    {
        Check(parameters, decodedStep);
        Add(parameters, decodedStep);
    }

    private static void Check(ParameterSet parameters, ParameterSet decodedStep)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(decodedStep);
        foreach (var d in decodedStep)
        {
            if (!parameters.TryGet(d.Name, out var p))
                throw new InvalidDataException($"the step carries tensor '{d.Name}', which the held parameters lack; download the full parameters.");
            if (!p.SameShape(d.Shape))
                throw new InvalidDataException($"the step's tensor '{d.Name}' has shape [{string.Join(", ", d.Shape)}]; the held one has [{string.Join(", ", p.Shape)}].");
        }
    }

    private static void Add(ParameterSet parameters, ParameterSet decodedStep)
    {
        // One IEEE float32 add per element (no fused or reordered arithmetic), the same on every machine.
        foreach (var d in decodedStep)
        {
            var theta = parameters[d.Name].Values;
            System.Numerics.Tensors.TensorPrimitives.Add(theta, d.Values, theta);
        }
    }

    /// <summary>
    /// Splits a concatenation of <paramref name="count"/> step payloads (a small download) and applies them in order.
    /// Each must be a step codec's payload (int8, fp16, top-k); throws <see cref="PayloadFormatException"/> or <see cref="InvalidDataException"/> on anything else.
    /// </summary>
    public static void ApplyAll(ParameterSet parameters, byte[] concatenated, int count, long maxBytes)
    {
        if (ApplyAll(parameters, concatenated, count, maxBytes, allowTrailing: false) != concatenated.Length)
            throw new InvalidOperationException("unreachable: trailing bytes were refused");
    }

    /// <summary>As <see cref="ApplyAll(ParameterSet, byte[], int, long)"/>; with <paramref name="allowTrailing"/>, bytes may follow the steps. Returns where the steps end.</summary>
    public static long ApplyAll(ParameterSet parameters, byte[] concatenated, int count, long maxBytes, bool allowTrailing)
    {
        ArgumentNullException.ThrowIfNull(concatenated);
        using var stream = new MemoryStream(concatenated, writable: false);
        var steps = new List<ParameterSet>(count);
        for (int i = 0; i < count; i++)
        {
            long start = stream.Position;
            var header = TensorCodec.ReadHeader(stream, maxBytes);
            if (!CodecSettings.IsStepCodec(header.Codec))
                throw new InvalidDataException($"step {i} of the download is {header.Codec}; steps use a lossy codec (int8, fp16, topk4, topk2).");
            long length = header.TotalBytes;
            if (start + length > concatenated.Length)
                throw new PayloadFormatException(PayloadError.Truncated, $"step {i} declares {length} bytes; only {concatenated.Length - start} remain.");
            steps.Add(TensorCodec.Decode(concatenated.AsSpan((int)start, (int)length).ToArray(), maxBytes).Tensors);
            stream.Position = start + length;
        }
        if (!allowTrailing && stream.Position != concatenated.Length)
            throw new PayloadFormatException(PayloadError.TrailingBytes, $"{concatenated.Length - stream.Position} bytes follow the {count} steps the download announces.");
        // Everything is checked before anything changes: a bad download leaves the held parameters as they were.
        foreach (var step in steps) Check(parameters, step);
        foreach (var step in steps) Add(parameters, step);
        return stream.Position;
    }
}
