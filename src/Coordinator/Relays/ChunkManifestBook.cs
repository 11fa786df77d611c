using Hivemind.Protocol.Relays;

namespace Hivemind.Coordinator.Relays;

/// <summary>
/// The chunk manifests this coordinator issued, by (version, content SHA-256), with the bytes they describe: it judges reports against
/// its own manifests only, and serves fallback chunks from the same bytes. Also counts the fallback bytes each lease took, so a lease
/// cannot pull more through DownloadChunk than through its allowed full downloads.
/// </summary>
public sealed class ChunkManifestBook(Func<ulong, byte[], ChunkManifest> sign)
{
    /// <summary>
    /// Chunk size of every manifest: a quarter of the protocol's 1 MiB message limit, so even a small shard (the `tiny` preset's is under
    /// 1 MB) spreads over several relays, while a 1 GB shard's manifest stays at 128 KiB of hashes.
    /// </summary>
    public const int ChunkBytes = 256 << 10;

    /// <summary>Versions whose manifests are kept (the current one and the one before, as the relay directory keeps holders).</summary>
    private const int VersionsKept = 2;

    private readonly Lock _gate = new();
    private readonly Dictionary<(ulong Version, string Sha), (ChunkManifest Manifest, byte[] Payload)> _issued = [];
    private readonly Dictionary<(ulong Version, string WorkUnit), long> _fallbackBytes = [];

    /// <summary>The manifest of <paramref name="payload"/> (whose SHA-256 is <paramref name="sha256"/>), computed and signed once.</summary>
    public ChunkManifest Issue(ulong version, ReadOnlySpan<byte> sha256, byte[] payload)
    {
        var key = (version, Convert.ToHexStringLower(sha256));
        lock (_gate)
            if (_issued.TryGetValue(key, out var hit)) return hit.Manifest;
        var manifest = sign(version, payload);
        lock (_gate)
        {
            foreach (var old in _issued.Keys.Where(k => k.Version + VersionsKept <= version).ToList()) _issued.Remove(old);
            foreach (var old in _fallbackBytes.Keys.Where(k => k.Version + VersionsKept <= version).ToList()) _fallbackBytes.Remove(old);
            _issued.TryAdd(key, (manifest, payload));
            return _issued[key].Manifest;
        }
    }

    /// <summary>A manifest issued here for exactly this content, or null.</summary>
    public ChunkManifest? Find(ulong version, ReadOnlySpan<byte> sha256)
    {
        var key = (version, Convert.ToHexStringLower(sha256));
        lock (_gate) return _issued.TryGetValue(key, out var hit) ? hit.Manifest : null;
    }

    /// <summary>
    /// Charges <paramref name="bytes"/> of fallback chunks to <paramref name="workUnitId"/>; false (nothing charged) when that would take
    /// the lease past <paramref name="allowance"/> bytes.
    /// </summary>
    public bool TryCharge(ulong version, string workUnitId, long bytes, long allowance)
    {
        lock (_gate)
        {
            long used = _fallbackBytes.GetValueOrDefault((version, workUnitId));
            if (used + bytes > allowance) return false;
            _fallbackBytes[(version, workUnitId)] = used + bytes;
            return true;
        }
    }
}
