using System.Security.Cryptography;
using Grpc.Core;
using Hivemind.Data;
using Hivemind.Protocol;
using Hivemind.Protocol.V1;

namespace Hivemind.Volunteer.Client;

/// <summary>
/// Gets the token slice a work unit names onto disk, verified: from the cache (checked again on every use), else from a mirror
/// (<c>--data-mirror</c>: an http(s) URL or a folder of SHA256.tokens files), else from the coordinator's DownloadData, resuming a
/// broken download from the bytes already on disk. Bytes whose SHA-256 is not the unit's are refused and never cached; no source
/// can make it write more than the unit's slice length.
/// </summary>
public sealed class DataSliceFetcher
{
    /// <summary>Slices kept in the cache (2 MiB each by default); the least recently used are deleted beyond it.</summary>
    public const int MaxCachedSlices = 32;

    /// <summary>Sub-folder of the volunteer's cache that holds slices.</summary>
    public const string CacheFolder = "data";

    private const string PartialExtension = ".part";
    private const int CopyBufferBytes = 1 << 16;

    private readonly DataDistribution.DataDistributionClient? _client;
    private readonly string _directory;
    private readonly string? _mirror;
    private readonly HttpClient? _http;

    /// <summary>
    /// Fetches into <paramref name="cacheDirectory"/>/data; <paramref name="mirror"/> (optional) is tried instead of the coordinator.
    /// <paramref name="http"/> serves http(s) mirrors (one is made when needed and not given).
    /// </summary>
    public DataSliceFetcher(DataDistribution.DataDistributionClient? client, string cacheDirectory, string? mirror = null, HttpClient? http = null)
    {
        _client = client;
        _directory = Path.Combine(cacheDirectory, CacheFolder);
        _mirror = string.IsNullOrEmpty(mirror) ? null : mirror;
        _http = http ?? (_mirror is not null && IsHttp(_mirror) ? new HttpClient() : null);
    }

    /// <summary>Where a verified slice lives in the cache.</summary>
    public string PathFor(string sha256) => Path.Combine(_directory, TokenSlice.FileNameFor(sha256));

    /// <summary>
    /// The path of a verified copy of <paramref name="spec"/>'s slice. Returns the bytes fetched (0 from the cache) and where from.
    /// Throws <see cref="InvalidDataException"/> when a source served bytes that are not the slice (nothing is cached then).
    /// </summary>
    public async Task<(string Path, long BytesFetched, string Source)> FetchAsync(DataSpec spec, string sessionToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Kind != DataKind.TokenSlice) throw new ArgumentException($"only token slices are fetched; this spec is {spec.Kind}.", nameof(spec));
        string sha = spec.FileSha256!;
        string path = PathFor(sha);
        Directory.CreateDirectory(_directory);
        if (File.Exists(path))
        {
            if (await HashOfAsync(path, ct) == sha)
            {
                File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
                return (path, 0, "cache");
            }
            File.Delete(path); // corrupt on disk: fetch again
        }
        string partial = path + PartialExtension;
        long fetched;
        string source;
        if (_mirror is not null)
        {
            File.Delete(partial);
            try
            {
                fetched = await FromMirrorAsync(sha, spec.ByteLength, partial, ct);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                File.Delete(partial);
                throw new InvalidDataException($"mirror {_mirror} could not serve data slice {sha} ({e.Message.TrimEnd('.')}); fix the mirror or drop --data-mirror to fetch from the coordinator.", e);
            }
            source = $"mirror {_mirror}";
        }
        else
        {
            fetched = await FromCoordinatorAsync(sha, spec.ByteLength, sessionToken, partial, ct);
            source = "coordinator";
        }
        string got = await HashOfAsync(partial, ct);
        if (got != sha)
        {
            long length = new FileInfo(partial).Length;
            File.Delete(partial);
            throw new InvalidDataException($"the {source} served {length} bytes with SHA-256 {got} for data slice {sha}; refused and not cached"
                + (_mirror is not null ? $" (fix the mirror or drop --data-mirror to fetch from the coordinator)" : ""));
        }
        File.Move(partial, path, overwrite: true);
        Prune();
        return (path, fetched, source);
    }

    private async Task<long> FromCoordinatorAsync(string sha, long sliceBytes, string sessionToken, string partial, CancellationToken ct)
    {
        if (_client is null) throw new InvalidOperationException("this volunteer has no data client; pass one to fetch slices from the coordinator, or give --data-mirror.");
        // Resume a broken download: the bytes already on disk are kept and only the rest is asked for (all of it is hashed at the end).
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (have >= sliceBytes)
        {
            File.Delete(partial);
            have = 0;
        }
        using var call = _client.DownloadData(new DataRequest
        {
            ProtocolVersion = ProtocolVersion.Current,
            SessionToken = sessionToken,
            SliceSha256 = sha,
            Offset = (ulong)have,
        }, cancellationToken: ct);
        long received = 0;
        await using var file = new FileStream(partial, FileMode.Append, FileAccess.Write, FileShare.None);
        while (await call.ResponseStream.MoveNext(ct))
        {
            var chunk = call.ResponseStream.Current;
            if (have + received + chunk.Data.Length > sliceBytes)
            {
                await file.DisposeAsync();
                File.Delete(partial);
                throw new InvalidDataException($"the coordinator sent more than the {sliceBytes} bytes of data slice {sha}; refused and not cached.");
            }
            file.Write(chunk.Data.Span);
            received += chunk.Data.Length;
        }
        return received;
    }

    private async Task<long> FromMirrorAsync(string sha, long sliceBytes, string partial, CancellationToken ct)
    {
        string name = TokenSlice.FileNameFor(sha);
        await using Stream source = IsHttp(_mirror!)
            ? await _http!.GetStreamAsync(new Uri(new Uri(_mirror!.TrimEnd('/') + "/"), name), ct)
            : File.OpenRead(Path.Combine(_mirror!.StartsWith("file://", StringComparison.Ordinal) ? new Uri(_mirror).LocalPath : _mirror, name));
        await using var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None);
        var buffer = new byte[CopyBufferBytes];
        long total = 0;
        int n;
        while ((n = await source.ReadAsync(buffer, ct)) > 0)
        {
            total += n;
            if (total > sliceBytes)
            {
                await file.DisposeAsync();
                File.Delete(partial);
                throw new InvalidDataException($"mirror {_mirror} serves more than the {sliceBytes} bytes of data slice {sha}; refused and not cached (fix the mirror or drop --data-mirror).");
            }
            await file.WriteAsync(buffer.AsMemory(0, n), ct);
        }
        return total;
    }

    private static bool IsHttp(string mirror) =>
        mirror.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || mirror.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static async Task<string> HashOfAsync(string path, CancellationToken ct)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }

    private void Prune()
    {
        foreach (var old in new DirectoryInfo(_directory).GetFiles("*" + TokenFileFormat.TokensExtension).OrderByDescending(f => f.LastWriteTimeUtc).Skip(MaxCachedSlices))
            old.Delete();
    }
}
