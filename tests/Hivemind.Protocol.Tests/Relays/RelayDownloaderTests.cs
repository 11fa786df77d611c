using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Relays;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Protocol.Tests.Relays;

/// <summary>Chunks from relays are checked against the coordinator's signed manifest; liars cost a retry, are skipped and reported.</summary>
public sealed class RelayDownloaderTests : IDisposable
{
    private const int ChunkBytes = 1000;
    private static readonly TimeSpan Signal = TimeSpan.FromSeconds(30);
    private readonly VolunteerIdentity _coordinator = VolunteerIdentity.Create();
    private readonly byte[] _payload = Payload(10_500);

    public void Dispose() => _coordinator.Dispose();

    [Fact]
    public async Task Honest_relays_carry_the_whole_version()
    {
        var manifest = ChunkManifest.Create(_coordinator, 7, _payload, ChunkBytes);
        var coordinator = new Source("coordinator", _payload);
        var relays = new[] { new Source("r1", _payload), new Source("r2", _payload) };
        var result = await Downloader().DownloadAsync(manifest, _coordinator.PublicKey, relays, coordinator, CancellationToken.None);
        Assert.Equal(_payload, result.Payload);
        Assert.Equal(0, result.BytesFromCoordinator);
        Assert.Equal(_payload.Length, result.BytesFromRelays.Values.Sum());
        Assert.Empty(result.Faults);
        Assert.Equal(0, coordinator.Calls);
    }

    [Fact]
    public async Task Relay_serving_corrupted_chunks_is_detected_skipped_and_reported_and_the_download_completes()
    {
        var manifest = ChunkManifest.Create(_coordinator, 7, _payload, ChunkBytes);
        var liar = new Source("liar", _payload) { Corrupt = true };
        var honest = new Source("honest", _payload);
        var options = RelayDownloadOptions.Default with { Parallelism = 1 };
        var result = await new RelayDownloader(options, TimeProvider.System).DownloadAsync(manifest, _coordinator.PublicKey, [liar, honest], new Source("coordinator", _payload), CancellationToken.None);

        Assert.Equal(_payload, result.Payload);
        var fault = Assert.Single(result.Faults);
        Assert.Equal(("liar", RelayFaultKind.HashMismatch), (fault.Relay, fault.Kind));
        Assert.Contains("do not match the signed SHA-256", fault.Detail);
        Assert.Equal(1, liar.Calls); // skipped after its first lie
        Assert.False(result.BytesFromRelays.ContainsKey("liar"));
    }

    [Fact]
    public async Task Liars_in_parallel_never_change_a_byte()
    {
        var manifest = ChunkManifest.Create(_coordinator, 7, _payload, ChunkBytes);
        var liars = Enumerable.Range(0, 3).Select(i => new Source($"liar{i}", _payload) { Corrupt = true, TruncateInstead = i == 2 }).ToArray();
        var coordinator = new Source("coordinator", _payload);
        var result = await new RelayDownloader(RelayDownloadOptions.Default with { Parallelism = 4 }, TimeProvider.System)
            .DownloadAsync(manifest, _coordinator.PublicKey, liars, coordinator, CancellationToken.None);
        Assert.Equal(_payload, result.Payload);
        Assert.Equal(_payload.Length, result.BytesFromCoordinator);
        Assert.All(result.Faults, f => Assert.Equal(RelayFaultKind.HashMismatch, f.Kind));
        Assert.Equal(["liar0", "liar1", "liar2"], result.Faults.Select(f => f.Relay).Distinct().Order());
        // Each liar is asked at most once per chunk already in flight when it was caught.
        Assert.All(liars, l => Assert.InRange(l.Calls, 1, 4));
    }

    [Fact]
    public async Task Silent_relay_times_out_and_the_chunk_comes_from_the_next_source()
    {
        var time = new FakeTimeProvider();
        var manifest = ChunkManifest.Create(_coordinator, 7, _payload.AsSpan(0, 2 * ChunkBytes), ChunkBytes);
        var silent = new Source("silent", _payload) { Hang = true };
        var options = new RelayDownloadOptions(1, TimeSpan.FromSeconds(5), FailuresBeforeSkip: 1);
        var download = new RelayDownloader(options, time).DownloadAsync(manifest, _coordinator.PublicKey, [silent], new Source("coordinator", _payload), CancellationToken.None);
        await silent.Started.Task.WaitAsync(Signal);
        time.Advance(options.ChunkTimeout);
        var result = await download.WaitAsync(Signal);
        Assert.Equal(_payload.AsSpan(0, 2 * ChunkBytes).ToArray(), result.Payload);
        Assert.Equal(RelayFaultKind.TimedOut, Assert.Single(result.Faults).Kind);
        Assert.Equal(1, silent.Calls);
    }

    [Fact]
    public async Task Manifest_not_signed_by_the_trusted_coordinator_is_refused_before_any_fetch()
    {
        using var impostor = VolunteerIdentity.Create();
        var forged = ChunkManifest.Create(impostor, 7, _payload, ChunkBytes);
        var relay = new Source("r1", _payload);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Downloader().DownloadAsync(forged, _coordinator.PublicKey, [relay], relay, CancellationToken.None));
        Assert.Contains("not signed by the coordinator's key", e.Message);
        Assert.Equal(0, relay.Calls);
    }

    [Fact]
    public void Tampered_manifest_fails_verification()
    {
        var m = ChunkManifest.Create(_coordinator, 7, _payload, ChunkBytes);
        Assert.True(m.VerifySignature(_coordinator.PublicKey));
        var hashes = Enumerable.Range(0, m.ChunkCount).Select(i => System.Security.Cryptography.SHA256.HashData(_payload.AsSpan(i * ChunkBytes, m.ChunkLength(i)))).ToList();
        hashes[3] = System.Security.Cryptography.SHA256.HashData("other"u8);
        Assert.False(ChunkManifest.FromParts(7, m.TotalBytes, ChunkBytes, hashes, m.CoordinatorKey, m.Signature).VerifySignature(_coordinator.PublicKey));
        Assert.False(ChunkManifest.FromParts(8, m.TotalBytes, ChunkBytes, [.. hashes.Select((h, i) => i == 3 ? System.Security.Cryptography.SHA256.HashData(_payload.AsSpan(3 * ChunkBytes, ChunkBytes)) : h)], m.CoordinatorKey, m.Signature).VerifySignature(_coordinator.PublicKey));
        var e = Assert.Throws<ArgumentException>(() => ChunkManifest.FromParts(7, m.TotalBytes, ChunkBytes, hashes.Take(5).ToList(), m.CoordinatorKey, m.Signature));
        Assert.Contains("lists 5 hashes for 10500 bytes in chunks of 1000; expected 11", e.Message);
    }

    [Fact]
    public async Task Corrupt_coordinator_chunk_fails_the_download_instead_of_passing_it_on()
    {
        var manifest = ChunkManifest.Create(_coordinator, 7, _payload, ChunkBytes);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Downloader().DownloadAsync(manifest, _coordinator.PublicKey, [], new Source("coordinator", _payload) { Corrupt = true }, CancellationToken.None));
        Assert.Contains("does not match its manifest", e.Message);
    }

    private static RelayDownloader Downloader() => new(RelayDownloadOptions.Default, TimeProvider.System);

    private static byte[] Payload(int length)
    {
        var bytes = new byte[length];
        new Random(17).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A chunk source over a payload that may lie, truncate or never answer.</summary>
    private sealed class Source(string name, byte[] payload) : IChunkSource
    {
        private int _calls;
        public string Name => name;
        public bool Corrupt { get; init; }
        public bool TruncateInstead { get; init; }
        public bool Hang { get; init; }
        public int Calls => Volatile.Read(ref _calls);
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<byte[]> FetchAsync(ulong version, int index, CancellationToken ct)
        {
            Interlocked.Increment(ref _calls);
            Started.TrySetResult();
            if (Hang) await Task.Delay(Timeout.Infinite, ct);
            var chunk = payload.AsSpan(index * ChunkBytes, Math.Min(ChunkBytes, payload.Length - index * ChunkBytes)).ToArray();
            if (TruncateInstead) return chunk[..^1];
            if (Corrupt) chunk[0] ^= 0x01;
            return chunk;
        }
    }
}
