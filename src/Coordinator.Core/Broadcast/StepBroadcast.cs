using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Broadcast;

/// <summary>
/// Small downloads: each new version is re-defined as the previous one plus an encoded (int8, fp16 or top-k low-bit) step, so a volunteer that holds
/// a recent version downloads only the steps since and lands on bit-identical parameters. What a step leaves out is the coordinator's
/// residual (error feedback) and goes into the next step. The last <c>capacity</c> steps are kept in memory; a restart forgets them
/// (volunteers then download the full shard once) and the residual (at most one step's worth of unsent change).
/// </summary>
/// <remarks>
/// Each step is encoded into a buffer rented from a <see cref="PayloadBufferPool"/> (a fresh multi-MiB array per version costs more in
/// page faults than the encoding, docs/benchmarks/codecs.md, Session 10). The kept step holds one <see cref="PayloadLease"/>, dropped when
/// the step goes (beyond the capacity or at a gap); a download reads steps only through leases of its own from <see cref="StepsBetween"/>,
/// taken under the lock, so a step evicted while a download reads it goes back to the pool only when that download disposes them.
/// </remarks>
public sealed class StepBroadcast
{
    private readonly CodecSettings _codec;
    private readonly int _capacity;
    private readonly SortedDictionary<long, PayloadLease> _steps = new();
    private readonly PayloadBufferPool _buffers;
    private Dictionary<string, float[]> _residual = new(StringComparer.Ordinal);

    /// <summary>
    /// A step computed by <see cref="Encode"/>, applied to the parameters, and held until the version that it makes is committed. Its lease
    /// passes to this object at <see cref="Commit"/>; a pending step never committed (a failed close) leaves its buffer to the GC.
    /// </summary>
    public sealed record Pending(long FromVersion, PayloadLease Step, Dictionary<string, float[]> Residual);

    /// <param name="buffers">Where steps rent their buffers; by default a pool of its own with room for the kept steps and two more.</param>
    public StepBroadcast(CodecSettings codec, int capacity, PayloadBufferPool? buffers = null)
    {
        if (!CodecSettings.IsStepCodec(codec.Codec))
            throw new ArgumentException($"steps use a lossy codec (int8, fp16, topk4, topk2); an {codec} step is as large as the full shard, so use full downloads.", nameof(codec));
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _codec = codec;
        _capacity = capacity;
        _buffers = buffers ?? new PayloadBufferPool(maxBuffers: capacity + 2);
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
        var step = EncodeStep(wanted, _codec, _buffers);
        var decoded = TensorCodec.Decode(step.Bytes, step.Length).Tensors;
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

    /// <summary>
    /// The encoding of a step alone, into a buffer rented from <paramref name="buffers"/>. The codec benchmark times exactly this, so its
    /// figure is the coordinator's path.
    /// </summary>
    public static PayloadLease EncodeStep(IEnumerable<NamedTensor> step, CodecSettings codec, PayloadBufferPool buffers) =>
        TensorCodec.Encode(step, codec, buffers);

    /// <summary>Keeps the step (fromVersion → fromVersion + 1) for downloads and moves to its residual; older steps beyond the capacity go.</summary>
    public void Commit(Pending pending)
    {
        lock (_steps)
        {
            // A gap (e.g. a round whose close failed and was retried from the same version) breaks the chain: keep only what connects.
            if (_steps.Count > 0 && _steps.Keys.Last() != pending.FromVersion - 1)
            {
                foreach (var dropped in _steps.Values)
                    if (!ReferenceEquals(dropped, pending.Step)) dropped.Dispose();
                _steps.Clear();
            }
            _steps[pending.FromVersion] = pending.Step;
            while (_steps.Count > _capacity)
            {
                long oldest = _steps.Keys.First();
                _steps.Remove(oldest, out var evicted);
                evicted!.Dispose();
            }
        }
        _residual = pending.Residual;
    }

    /// <summary>
    /// The whole-model steps from <paramref name="heldVersion"/> to <paramref name="currentVersion"/> in order, or null when any is missing.
    /// Each is a lease of the caller's own, taken under the lock: dispose every one once the bytes are read (an evicted step's buffer
    /// stays out of the pool until then).
    /// </summary>
    public IReadOnlyList<PayloadLease>? StepsBetween(long heldVersion, long currentVersion)
    {
        if (heldVersion >= currentVersion || currentVersion - heldVersion > _capacity) return null;
        lock (_steps)
        {
            for (long v = heldVersion; v < currentVersion; v++)
                if (!_steps.ContainsKey(v)) return null;
            var list = new List<PayloadLease>();
            for (long v = heldVersion; v < currentVersion; v++) list.Add(_steps[v].Share());
            return list;
        }
    }
}
