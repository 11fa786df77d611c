namespace Hivemind.Protocol.Relays;

/// <summary>
/// What a relay volunteer serves: chunks of the versions it holds, only while the coordinator lists them, within the upload cap the
/// volunteer set (a token bucket holding one second of upload, at least one chunk).
/// </summary>
public sealed class RelayShelf
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, (ChunkManifest Manifest, byte[] Payload)> _held = [];
    private readonly long _bytesPerSecond;
    private readonly TimeProvider _time;
    private HashSet<ulong> _listed = [];
    private double _tokens;
    private DateTimeOffset _refilled;

    public RelayShelf(long uploadBytesPerSecond, TimeProvider time)
    {
        if (uploadBytesPerSecond < 1) throw new ArgumentException($"relay upload cap {uploadBytesPerSecond} B/s must be positive; leave --relay off to serve nothing.", nameof(uploadBytesPerSecond));
        _bytesPerSecond = uploadBytesPerSecond;
        _time = time;
        _refilled = time.GetUtcNow();
        _tokens = Capacity(ProtocolLimits.DefaultChunkBytes);
    }

    /// <summary>Keeps a version to serve; the relay checks its own copy against the signed manifest first, so it never passes on a bad byte.</summary>
    public void Hold(ChunkManifest manifest, ReadOnlyMemory<byte> trustedCoordinatorKey, byte[] payload)
    {
        if (!manifest.VerifySignature(trustedCoordinatorKey.Span))
            throw new InvalidDataException($"the manifest of version {manifest.Version} is not signed by the coordinator; not serving it.");
        if (payload.LongLength != manifest.TotalBytes)
            throw new InvalidDataException($"version {manifest.Version} is {payload.LongLength} bytes here, the manifest says {manifest.TotalBytes}; not serving it.");
        for (var i = 0; i < manifest.ChunkCount; i++)
            if (!manifest.Matches(i, payload.AsSpan(i * manifest.ChunkBytes, manifest.ChunkLength(i))))
                throw new InvalidDataException($"chunk {i} of version {manifest.Version} held here does not match the manifest; not serving it.");
        lock (_gate) _held[manifest.Version] = (manifest, payload);
    }

    /// <summary>The versions the coordinator currently lets relays serve; held versions not listed are dropped.</summary>
    public void List(IEnumerable<ulong> versions)
    {
        lock (_gate)
        {
            _listed = [.. versions];
            foreach (var v in _held.Keys.Where(v => !_listed.Contains(v)).ToList()) _held.Remove(v);
        }
    }

    /// <summary>The chunk, or why not: not listed, not held, or over the upload cap (with when to retry).</summary>
    public RelayServeResult TryServe(ulong version, int index)
    {
        lock (_gate)
        {
            if (!_listed.Contains(version)) return RelayServeResult.Refused($"version {version} is not listed by the coordinator for relaying");
            if (!_held.TryGetValue(version, out var held)) return RelayServeResult.Refused($"version {version} is not held here");
            if (index < 0 || index >= held.Manifest.ChunkCount) return RelayServeResult.Refused($"chunk {index} out of range 0..{held.Manifest.ChunkCount - 1}");
            var length = held.Manifest.ChunkLength(index);
            Refill(length);
            if (_tokens < length)
                return RelayServeResult.Busy(TimeSpan.FromSeconds((length - _tokens) / _bytesPerSecond));
            _tokens -= length;
            return RelayServeResult.Served(held.Payload.AsSpan(index * held.Manifest.ChunkBytes, length).ToArray());
        }
    }

    private double Capacity(int chunk) => Math.Max(_bytesPerSecond, chunk);

    private void Refill(int chunk)
    {
        var now = _time.GetUtcNow();
        _tokens = Math.Min(Capacity(chunk), _tokens + (now - _refilled).TotalSeconds * _bytesPerSecond);
        _refilled = now;
    }
}
