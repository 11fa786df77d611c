using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Broadcast;

/// <summary>
/// Small downloads: each new version is re-defined as the previous one plus an encoded (int8, fp16 or top-k low-bit) step, so a volunteer that holds
/// a recent version downloads only the steps since and lands on bit-identical parameters. What a step leaves out is the coordinator's
/// residual (error feedback) and goes into the next step. The last <c>capacity</c> steps are kept in memory; a restart forgets them
/// (volunteers then download the full shard once) and the residual (at most one step's worth of unsent change).
/// </summary>
public sealed class StepBroadcast
{
    private readonly CodecSettings _codec;
    private readonly int _capacity;
    private readonly SortedDictionary<long, byte[]> _steps = new();
    private Dictionary<string, float[]> _residual = new(StringComparer.Ordinal);

    /// <summary>A step computed by <see cref="Encode"/>, applied to the parameters, and held until the version that it makes is committed.</summary>
    public sealed record Pending(long FromVersion, byte[] Step, Dictionary<string, float[]> Residual);

    public StepBroadcast(CodecSettings codec, int capacity)
    {
        if (!CodecSettings.IsStepCodec(codec.Codec))
            throw new ArgumentException($"steps use a lossy codec (int8, fp16, topk4, topk2); an {codec} step is as large as the full shard, so use full downloads.", nameof(codec));
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _codec = codec;
        _capacity = capacity;
    }

    public CodecSettings Codec => _codec;

    /// <summary>
    /// Replaces <paramref name="after"/>'s values by fp32(before + decode(step)) where step = encode(after − before + residual), and
    /// returns the step; nothing in this object changes until <see cref="Commit"/>.
    /// </summary>
    public Pending Encode(long fromVersion, ParameterSet before, ParameterSet after)
    {
        var wanted = new ParameterSet();
        foreach (var t in after)
        {
            var change = new float[t.Values.Length];
            System.Numerics.Tensors.TensorPrimitives.Subtract(t.Values, before[t.Name].Values, change);
            if (_residual.TryGetValue(t.Name, out var r)) System.Numerics.Tensors.TensorPrimitives.Add(change, r, change);
            wanted.Add(new NamedTensor(t.Name, t.Shape, change));
        }
        byte[] step = TensorCodec.Encode(wanted, _codec);
        var decoded = TensorCodec.Decode(step, step.LongLength).Tensors;
        var residual = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var t in wanted)
        {
            var sent = decoded[t.Name].Values;
            System.Numerics.Tensors.TensorPrimitives.Subtract(t.Values, sent, t.Values);
            residual[t.Name] = t.Values;
            // The new version is defined by the step, exactly as a volunteer computes it (ParameterSteps.Apply).
            before[t.Name].Values.CopyTo(after[t.Name].Values, 0);
        }
        ParameterSteps.Apply(after, decoded);
        return new Pending(fromVersion, step, residual);
    }

    /// <summary>Keeps the step (fromVersion → fromVersion + 1) for downloads and moves to its residual; older steps beyond the capacity go.</summary>
    public void Commit(Pending pending)
    {
        lock (_steps)
        {
            // A gap (e.g. a round whose close failed and was retried from the same version) breaks the chain: keep only what connects.
            if (_steps.Count > 0 && _steps.Keys.Last() != pending.FromVersion - 1) _steps.Clear();
            _steps[pending.FromVersion] = pending.Step;
            while (_steps.Count > _capacity) _steps.Remove(_steps.Keys.First());
        }
        _residual = pending.Residual;
    }

    /// <summary>The whole-model steps from <paramref name="heldVersion"/> to <paramref name="currentVersion"/> in order, or null when any is missing.</summary>
    public IReadOnlyList<byte[]>? StepsBetween(long heldVersion, long currentVersion)
    {
        if (heldVersion >= currentVersion || currentVersion - heldVersion > _capacity) return null;
        lock (_steps)
        {
            var list = new List<byte[]>();
            for (long v = heldVersion; v < currentVersion; v++)
            {
                if (!_steps.TryGetValue(v, out var step)) return null;
                list.Add(step);
            }
            return list;
        }
    }
}
