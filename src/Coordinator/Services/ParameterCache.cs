using System.Security.Cryptography;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// Encoded shard parameters by (version, shard), so volunteers holding the same shard share one encoding and
/// its content hash (the key of their download cache). Older versions are evicted when a new one appears.
/// </summary>
/// <remarks>
/// The compressed form of an entry (<see cref="CompressedEntry"/>) lives in a buffer rented from a <see cref="PayloadBufferPool"/>, so
/// each version's encodings reuse the pages of the last one's instead of faulting in fresh memory (docs/benchmarks/codecs.md, Session 10).
/// That buffer goes back to the pool only when nothing reads it: an entry counts one reference for the cache (dropped on eviction) and one
/// per <see cref="Lease"/> (dropped when the lease is disposed), and returns its buffer when the count reaches zero. A download therefore
/// holds a lease for as long as it streams the bytes, and an entry evicted meanwhile stays intact until that download ends.
/// </remarks>
public sealed class ParameterCache
{
    /// <summary>Distinct shards kept per version; beyond it the oldest entry is dropped.</summary>
    public const int MaxEntries = 64;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly object _gate = new();
    private readonly PayloadBufferPool _buffers;
    private long _version = -1;

    public ParameterCache() : this(new PayloadBufferPool())
    {
    }

    /// <param name="buffers">Where compressed entries rent their buffers and return them once nothing reads them.</param>
    public ParameterCache(PayloadBufferPool buffers)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        _buffers = buffers;
    }

    /// <summary>One encoded shard: fp32 payload bytes, their SHA-256 and the tensor list in payload order.</summary>
    public sealed class Entry
    {
        private readonly PayloadBufferPool _buffers;
        private readonly Lazy<Task<CompressedEntry>> _compressed;
        private int _references = 1; // the cache's own, dropped once by ReleaseCacheReference
        private int _cacheReleased;

        internal Entry(byte[] bytes, byte[] sha256, IReadOnlyList<(string Name, long[] Shape)> tensors, PayloadBufferPool buffers)
        {
            Bytes = bytes;
            Sha256 = sha256;
            Tensors = tensors;
            _buffers = buffers;
            // Encoded once per entry when the first download asks for it (never in the round's close), then shared like the fp32 bytes.
            // A task, so the downloads that ask while it encodes (a new version's burst) await it instead of each blocking a thread-pool
            // thread on it.
            _compressed = new(() => Task.Run(() => CompressedEntry.Of(Bytes, _buffers)), LazyThreadSafetyMode.ExecutionAndPublication);
        }

        public byte[] Bytes { get; }

        public byte[] Sha256 { get; }

        public IReadOnlyList<(string Name, long[] Shape)> Tensors { get; }

        /// <summary>Cache and lease references still held; the compressed buffer is back in the pool once this is zero.</summary>
        internal int References => Volatile.Read(ref _references);

        /// <summary>The lossless compressed form (CODEC_FP32_SHUFFLE_ZSTD) for full downloads; only through a lease, which keeps its buffer alive.</summary>
        internal Task<CompressedEntry> Compressed => _compressed.Value;

        /// <summary>One more reference, unless the count already reached zero (then the buffer may be reused and nothing may read it).</summary>
        internal bool TryAddReference()
        {
            for (int n = Volatile.Read(ref _references); n > 0; n = Volatile.Read(ref _references))
                if (Interlocked.CompareExchange(ref _references, n + 1, n) == n) return true;
            return false;
        }

        /// <summary>Drops the cache's reference; a second call (an entry evicted twice) does nothing.</summary>
        internal void ReleaseCacheReference()
        {
            if (Interlocked.Exchange(ref _cacheReleased, 1) == 0) Release();
        }

        internal void Release()
        {
            int left = Interlocked.Decrement(ref _references);
            if (left > 0) return;
            if (left < 0) throw new InvalidOperationException("a parameter cache entry was released more times than it was referenced.");
            if (!_compressed.IsValueCreated) return;
            var task = _compressed.Value;
            // No reference remains, so no download can still read (or newly ask for) the compressed bytes: the buffer is free once written.
            if (task.IsCompletedSuccessfully) _buffers.Return(task.Result.Buffer);
            else task.ContinueWith(t => { if (t.IsCompletedSuccessfully) _buffers.Return(t.Result.Buffer); }, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// A reference to an entry that keeps its compressed bytes from going back to the pool; hold it for as long as those bytes are read
    /// (a download's whole stream) and dispose it once. Disposing twice releases once.
    /// </summary>
    public sealed class Lease : IDisposable
    {
        private int _disposed;

        internal Lease(Entry entry) => Entry = entry;

        public Entry Entry { get; }

        /// <summary>The entry's compressed form, encoded at the first ask; valid until this lease is disposed.</summary>
        public Task<CompressedEntry> CompressedAsync()
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return Entry.Compressed;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Entry.Release();
        }
    }

    /// <summary>An entry's compressed payload (the first <see cref="Length"/> bytes of a pooled buffer) and the SHA-256 of exactly those bytes (the download's content_sha256).</summary>
    public sealed class CompressedEntry
    {
        private CompressedEntry(byte[] buffer, int length, byte[] sha256)
        {
            Buffer = buffer;
            Length = length;
            Sha256 = sha256;
        }

        /// <summary>The pooled buffer; longer than the payload (it has room for every plane stored).</summary>
        internal byte[] Buffer { get; }

        public int Length { get; }

        public ReadOnlyMemory<byte> Bytes => Buffer.AsMemory(0, Length);

        public byte[] Sha256 { get; }

        public static CompressedEntry Of(byte[] fp32Payload, PayloadBufferPool buffers)
        {
            var (buffer, length) = Encode(fp32Payload, buffers);
            return new CompressedEntry(buffer, length, SHA256.HashData(buffer.AsSpan(0, length)));
        }

        /// <summary>
        /// The encoding step alone: <see cref="Fp32ShuffleZstd"/> into a buffer rented from <paramref name="buffers"/> (given back if the
        /// encoding throws). The codec benchmark times exactly this, so its figure is the coordinator's path.
        /// </summary>
        public static (byte[] Buffer, int Length) Encode(byte[] fp32Payload, PayloadBufferPool buffers)
        {
            ArgumentNullException.ThrowIfNull(buffers);
            byte[] buffer = buffers.Rent(Fp32ShuffleZstd.MaxEncodedLength(fp32Payload));
            try
            {
                return (buffer, Fp32ShuffleZstd.Encode(fp32Payload, buffer));
            }
            catch
            {
                buffers.Return(buffer);
                throw;
            }
        }
    }

    /// <summary>The entry, without a lease: for its fp32 bytes, hash and tensor list, which are never pooled.</summary>
    public Entry Get(long version, ShardSpec shard, Func<ParameterSet> load)
    {
        using var lease = Acquire(version, shard, load);
        return lease.Entry;
    }

    /// <summary>
    /// The entry under a lease (taken under the cache's lock, so an entry found is never one whose buffer went back to the pool).
    /// An entry of an older version than the newest is built but not kept: its lease is its only reference.
    /// </summary>
    public Lease Acquire(long version, ShardSpec shard, Func<ParameterSet> load)
    {
        string key = $"{version}:{ShardText.Format(shard)}";
        lock (_gate)
        {
            if (version > _version)
            {
                foreach (var old in _entries.Values) old.ReleaseCacheReference();
                _entries.Clear();
                _order.Clear();
                _version = version;
            }
            if (_entries.TryGetValue(key, out var hit)) return Leased(hit);
        }
        var parameters = load();
        byte[] bytes = TensorCodec.Encode(parameters, PayloadCodec.Fp32);
        var entry = new Entry(bytes, SHA256.HashData(bytes), parameters.Select(t => (t.Name, t.Shape)).ToList(), _buffers);
        lock (_gate)
        {
            if (version == _version)
            {
                // Another download may have built the same entry meanwhile; share the one kept (ours never encoded, so holds nothing pooled).
                if (_entries.TryGetValue(key, out var kept)) return Leased(kept);
                _entries.Add(key, entry);
                _order.Enqueue(key);
                while (_entries.Count > MaxEntries && _order.TryDequeue(out var oldest))
                    if (_entries.Remove(oldest, out var evicted)) evicted.ReleaseCacheReference();
                return Leased(entry);
            }
        }
        var only = Leased(entry);
        entry.ReleaseCacheReference();
        return only;
    }

    private static Lease Leased(Entry entry) => entry.TryAddReference() ? new Lease(entry)
        : throw new InvalidOperationException("a cached parameter entry had no references left; the cache must hold one while it keeps the entry.");
}
