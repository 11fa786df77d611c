namespace Hivemind.Protocol.Tensors;

/// <summary>
/// Large byte buffers kept alive between uses, for payloads encoded once and dropped soon after: the coordinator's compressed shards
/// (ParameterCache) and broadcast steps (StepBroadcast), and the volunteer's sealed updates (WorkUnitRunner.SealPooled); see
/// <see cref="PayloadLease"/> for the reference counting that decides when a buffer comes back. A fresh large array costs a page fault per 4 KiB at its first touch, and on
/// this virtual machine those faults cost several times the encoding itself (about 3,400 faults, 50–75 ms, for a 14 MB array against
/// ~9 ms of compression); no GC setting tried removed them (docs/benchmarks/codecs.md, Session 10). A buffer that stays alive in the
/// pool keeps its pages, so the next version's encoding writes into memory that is already mapped.
/// </summary>
/// <remarks>
/// Unlike <see cref="System.Buffers.ArrayPool{T}.Shared"/>, nothing here is trimmed on a timer or under a gen-2 collection (rounds are
/// minutes apart), sizes are not rounded up to powers of two, and a buffer given back twice is refused rather than handed out twice.
/// Thread-safe; a rent or return is a short scan of at most <see cref="MaxBuffers"/> entries under a lock.
/// </remarks>
public sealed class PayloadBufferPool
{
    private readonly List<byte[]> _free = [];
    private readonly object _gate = new();
    private long _freeBytes;

    /// <param name="maxBuffers">Most buffers kept; a return beyond it is dropped for the GC.</param>
    /// <param name="maxBytes">Most bytes kept in all; a return beyond it is dropped for the GC.</param>
    public PayloadBufferPool(int maxBuffers = DefaultMaxBuffers, long maxBytes = 4L << 30)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBuffers);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        MaxBuffers = maxBuffers;
        MaxBytes = maxBytes;
    }

    /// <summary>Default <see cref="MaxBuffers"/>: one version's worth of the coordinator's cache entries (ParameterCache.MaxEntries).</summary>
    public const int DefaultMaxBuffers = 64;

    public int MaxBuffers { get; }

    public long MaxBytes { get; }

    /// <summary>Buffers waiting in the pool.</summary>
    public int FreeCount
    {
        get
        {
            lock (_gate) return _free.Count;
        }
    }

    /// <summary>
    /// A buffer of at least <paramref name="minimumLength"/> bytes, contents unspecified: the smallest one kept that fits, else a new
    /// uninitialised array of exactly that length. The caller owns it until it hands it to <see cref="Return"/>.
    /// </summary>
    public byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        lock (_gate)
        {
            int best = -1;
            for (int i = 0; i < _free.Count; i++)
                if (_free[i].Length >= minimumLength && (best < 0 || _free[i].Length < _free[best].Length)) best = i;
            if (best >= 0)
            {
                byte[] buffer = _free[best];
                _free.RemoveAt(best);
                _freeBytes -= buffer.Length;
                return buffer;
            }
        }
        return GC.AllocateUninitializedArray<byte>(minimumLength);
    }

    /// <summary>
    /// Gives <paramref name="buffer"/> back; its owner must not touch it again. Refuses (throws) a buffer that is already in the pool:
    /// handing it back twice would let two renters write the same memory.
    /// </summary>
    public void Return(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        lock (_gate)
        {
            foreach (var held in _free)
                if (ReferenceEquals(held, buffer))
                    throw new InvalidOperationException("this buffer is already back in the pool; a buffer must be returned once per rent.");
            if (_free.Count >= MaxBuffers || _freeBytes + buffer.Length > MaxBytes) return;
            _free.Add(buffer);
            _freeBytes += buffer.Length;
        }
    }
}
