using System.Security.Cryptography;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// Encoded shard parameters by (version, shard), so volunteers holding the same shard share one encoding and
/// its content hash (the key of their download cache). Older versions are evicted when a new one appears.
/// </summary>
public sealed class ParameterCache
{
    /// <summary>Distinct shards kept per version; beyond it the oldest entry is dropped.</summary>
    public const int MaxEntries = 64;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly object _gate = new();
    private long _version = -1;

    /// <summary>One encoded shard: fp32 payload bytes, their SHA-256 and the tensor list in payload order.</summary>
    public sealed record Entry(byte[] Bytes, byte[] Sha256, IReadOnlyList<(string Name, long[] Shape)> Tensors)
    {
        /// <summary>
        /// The lossless compressed form (CODEC_FP32_SHUFFLE_ZSTD) for full downloads and its own SHA-256, encoded once per entry when
        /// the first download asks for it (never in the round's close), then shared like the fp32 bytes. A task, so the downloads
        /// that ask while it encodes (a new version's burst) await it instead of each blocking a thread-pool thread on it.
        /// </summary>
        public Lazy<Task<CompressedEntry>> Compressed { get; } = new(() => Task.Run(() => CompressedEntry.Of(Bytes)), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>An entry's compressed payload and the SHA-256 of exactly those bytes (the download's content_sha256).</summary>
    public sealed record CompressedEntry(byte[] Bytes, byte[] Sha256)
    {
        public static CompressedEntry Of(byte[] fp32Payload)
        {
            byte[] bytes = Fp32ShuffleZstd.Encode(fp32Payload);
            return new CompressedEntry(bytes, SHA256.HashData(bytes));
        }
    }

    public Entry Get(long version, ShardSpec shard, Func<ParameterSet> load)
    {
        string key = $"{version}:{ShardText.Format(shard)}";
        lock (_gate)
        {
            if (version > _version)
            {
                _entries.Clear();
                _order.Clear();
                _version = version;
            }
            if (_entries.TryGetValue(key, out var hit)) return hit;
        }
        var parameters = load();
        byte[] bytes = TensorCodec.Encode(parameters, PayloadCodec.Fp32);
        var entry = new Entry(bytes, SHA256.HashData(bytes), parameters.Select(t => (t.Name, t.Shape)).ToList());
        lock (_gate)
        {
            if (version == _version && _entries.TryAdd(key, entry))
            {
                _order.Enqueue(key);
                while (_entries.Count > MaxEntries && _order.TryDequeue(out var old)) _entries.Remove(old);
            }
        }
        return entry;
    }
}
