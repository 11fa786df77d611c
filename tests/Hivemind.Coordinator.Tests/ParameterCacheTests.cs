using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Hivemind.Coordinator.Services;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The parameter cache's pooled compressed buffers (issue 16, encode speed): a version's encodings reuse the last version's buffers,
/// a download that holds an entry while it is evicted still reads intact bytes, no buffer goes back to the pool twice, and what the
/// cache serves decodes bit for bit to the fp32 payload.
/// </summary>
public sealed class ParameterCacheTests
{
    private static readonly ShardSpec Trunk = new([]);

    /// <summary>Weight-like values (so plane 3 compresses), different per seed.</summary>
    private static ParameterSet Parameters(int seed, int count = 300_000)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 0.05);
        return new ParameterSet([new NamedTensor("w", [count], values)]);
    }

    private static byte[] BufferOf(ParameterCache.CompressedEntry compressed) =>
        MemoryMarshal.TryGetArray(compressed.Bytes, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");

    [Fact]
    public async Task ADownloadHoldingAnEvictedEntryReadsIntactBytesUntilItsLeaseEnds()
    {
        var pool = new PayloadBufferPool();
        var cache = new ParameterCache(pool);
        var download = cache.Acquire(1, Trunk, () => Parameters(1));
        var compressed = await download.CompressedAsync();
        byte[] expected = compressed.Bytes.ToArray();

        // New versions evict the entry while the download still streams it; their encodings rent from the same pool, and so does
        // anything else, which scribbles over what it gets.
        for (int version = 2; version <= 4; version++)
        {
            using var next = cache.Acquire(version, Trunk, () => Parameters(version));
            await next.CompressedAsync();
        }
        var others = Enumerable.Range(0, 3).Select(_ => pool.Rent(compressed.Length)).ToList();
        foreach (var other in others) other.AsSpan().Fill(0xAB);
        Assert.DoesNotContain(others, o => ReferenceEquals(o, BufferOf(compressed)));

        Assert.Equal(expected, compressed.Bytes.ToArray());
        Assert.Equal(SHA256.HashData(expected), compressed.Sha256);
        int free = pool.FreeCount;
        download.Dispose(); // the download ends: only now is its buffer free
        Assert.Equal(free + 1, pool.FreeCount);
        Assert.Same(BufferOf(compressed), pool.Rent(compressed.Length));
    }

    [Fact]
    public async Task NoBufferGoesBackToThePoolTwice()
    {
        var pool = new PayloadBufferPool();
        var cache = new ParameterCache(pool);
        var lease = cache.Acquire(1, Trunk, () => Parameters(1));
        var compressed = await lease.CompressedAsync();
        byte[] expected = compressed.Bytes.ToArray();

        lease.Dispose();
        lease.Dispose(); // e.g. a `using` and an explicit Dispose on an error path: one release
        Assert.Equal(0, pool.FreeCount); // the cache still holds the entry, so its buffer is not free
        using (var again = cache.Acquire(1, Trunk, () => throw new InvalidOperationException("cached")))
            Assert.Equal(expected, (await again.CompressedAsync()).Bytes.ToArray());

        cache.Acquire(2, Trunk, () => Parameters(2)).Dispose(); // evicts version 1: its buffer goes back, once
        cache.Acquire(3, Trunk, () => Parameters(3)).Dispose(); // evicts version 2, which never compressed: nothing to give back
        Assert.Equal(1, pool.FreeCount);
        var first = pool.Rent(compressed.Length);
        var second = pool.Rent(compressed.Length);
        Assert.Same(BufferOf(compressed), first);
        Assert.NotSame(first, second);
        Assert.Throws<ObjectDisposedException>(() => { _ = lease.CompressedAsync(); }); // thrown at the call, before any task

        pool.Return(first);
        Assert.Throws<InvalidOperationException>(() => pool.Return(first)); // the pool's own guard
    }

    [Fact]
    public async Task ReusedBuffersServeBytesThatDecodeBitForBitToTheFp32Payload()
    {
        var pool = new PayloadBufferPool();
        var cache = new ParameterCache(pool);
        byte[]? firstBuffer = null;
        // Version 2's shard is smaller: it is encoded into version 1's larger buffer, which still holds version 1's bytes.
        foreach (var (version, count) in new[] { (1L, 300_000), (2L, 200_000), (3L, 300_000) })
        {
            using var lease = cache.Acquire(version, Trunk, () => Parameters((int)version, count));
            var compressed = await lease.CompressedAsync();
            byte[] bytes = compressed.Bytes.ToArray();
            Assert.Equal(Fp32ShuffleZstd.Encode(lease.Entry.Bytes), bytes);
            Assert.Equal(lease.Entry.Bytes, Fp32ShuffleZstd.Decode(bytes, lease.Entry.Bytes.Length));
            Assert.Equal(SHA256.HashData(bytes), compressed.Sha256);
            if (firstBuffer is null) firstBuffer = BufferOf(compressed);
            else Assert.Same(firstBuffer, BufferOf(compressed)); // the pool's point: the next version writes into memory already mapped
        }
    }
}
