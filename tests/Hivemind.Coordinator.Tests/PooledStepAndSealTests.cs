using System.Runtime.InteropServices;
using Hivemind.Coordinator.Broadcast;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Volunteer.Work;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The shipped lossy encodings into pooled buffers (issue 16, encode speed, Session 11): the coordinator's broadcast steps and the
/// volunteer's sealed updates. A step still being read by a download, or a payload still being uploaded, reads intact bytes however
/// hard the pool is used meanwhile; no buffer goes back twice; the bytes are those of the old per-call encoding; the pool is reused.
/// </summary>
public sealed class PooledStepAndSealTests
{
    private const int Count = 70_000;

    private static ParameterSet Parameters(int seed, float scale = 0.05f)
    {
        var random = new Random(seed);
        var values = new float[Count];
        for (int i = 0; i < Count; i++) values[i] = (float)(random.NextDouble() - 0.5) * scale;
        var small = new float[300];
        for (int i = 0; i < small.Length; i++) small[i] = (float)(random.NextDouble() - 0.5) * scale;
        return new ParameterSet([new NamedTensor("blocks.0.w", [Count], values), new NamedTensor("head", [3, 100], small)]);
    }

    private static ParameterSet Plus(ParameterSet a, ParameterSet b) =>
        new(a.Select(t => new NamedTensor(t.Name, t.Shape, t.Values.Zip(b[t.Name].Values, (x, y) => x + y).ToArray())));

    private static byte[] ArrayOf(PayloadLease lease) =>
        MemoryMarshal.TryGetArray(lease.Bytes, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");

    private static byte[] StreamEncoded(IEnumerable<NamedTensor> tensors, CodecSettings codec)
    {
        using var stream = new MemoryStream();
        TensorCodec.Encode(tensors, codec, stream);
        return stream.ToArray();
    }

    /// <summary>Steps from..from+count−1, each committed after it is encoded; returns each step's buffer (the lease is the broadcast's).</summary>
    private static List<byte[]> Commit(StepBroadcast broadcast, ref ParameterSet current, int from, int count)
    {
        var buffers = new List<byte[]>();
        for (int v = from; v < from + count; v++)
        {
            var before = current;
            var after = Plus(before, Parameters(100 + v, 0.01f));
            var pending = broadcast.Encode(v, before, after);
            buffers.Add(ArrayOf(pending.Step));
            broadcast.Commit(pending);
            current = after;
        }
        return buffers;
    }

    [Fact]
    public void ADownloadHoldingAnEvictedStepReadsIntactBytesUntilItDisposesIt()
    {
        var pool = new PayloadBufferPool(maxBuffers: 8);
        var broadcast = new StepBroadcast(PayloadCodec.Int8Block, capacity: 2, pool);
        var current = Parameters(1);
        Commit(broadcast, ref current, 0, 1);
        var download = broadcast.StepsBetween(0, 1)!;
        byte[] expected = download[0].Bytes.ToArray();

        // Later versions evict step 0 while the download still reads it; their steps rent from the same pool, and so does anything else,
        // which scribbles over what it gets.
        Commit(broadcast, ref current, 1, 4);
        Assert.Null(broadcast.StepsBetween(0, 5));
        var grabbed = Enumerable.Range(0, pool.FreeCount + 1).Select(_ => pool.Rent(expected.Length)).ToList();
        foreach (var g in grabbed) g.AsSpan().Fill(0xAB);
        Assert.DoesNotContain(grabbed, g => ReferenceEquals(g, ArrayOf(download[0])));
        Assert.Equal(expected, download[0].Bytes.ToArray());

        int free = pool.FreeCount;
        download[0].Dispose(); // the download ends: only now is the evicted step's buffer free
        Assert.Equal(free + 1, pool.FreeCount);
    }

    [Fact]
    public void NoStepBufferGoesBackTwiceAndNoKeptStepsBufferIsFree()
    {
        var pool = new PayloadBufferPool(maxBuffers: 16);
        var broadcast = new StepBroadcast(PayloadCodec.Fp16, capacity: 3, pool);
        var current = Parameters(1);
        var pendings = Commit(broadcast, ref current, 0, 5);
        // Downloads hold leases across evictions and dispose them twice; a gap (a retried close) drops every kept step at once.
        var early = broadcast.StepsBetween(2, 5)!;
        pendings.AddRange(Commit(broadcast, ref current, 5, 2));
        foreach (var lease in early.Concat(early)) lease.Dispose();
        var now = broadcast.StepsBetween(4, 7)!;
        AssertNoneIsFree(pool, now.Select(ArrayOf).ToList());
        foreach (var lease in now) lease.Dispose();
        current = Parameters(7);
        pendings.AddRange(Commit(broadcast, ref current, 9, 4)); // 9 does not follow 6: a gap
        var late = broadcast.StepsBetween(10, 13)!;

        var kept = late.Select(ArrayOf).ToHashSet(ReferenceEqualityComparer.Instance);
        var distinct = pendings.ToHashSet(ReferenceEqualityComparer.Instance);
        var free = Enumerable.Range(0, pool.FreeCount).Select(_ => pool.Rent(0)).ToList();
        Assert.Equal(free.Count, free.ToHashSet(ReferenceEqualityComparer.Instance).Count); // each free buffer once
        Assert.DoesNotContain(free, b => kept.Contains(b)); // and none a kept step still serves
        Assert.Equal(distinct.Count - kept.Count, free.Count); // every other buffer is free
        foreach (var lease in late) lease.Dispose();
    }

    /// <summary>Takes every free buffer out of the pool and puts it back: none may be one of <paramref name="inUse"/>, none may be there twice.</summary>
    private static void AssertNoneIsFree(PayloadBufferPool pool, IReadOnlyList<byte[]> inUse)
    {
        var free = Enumerable.Range(0, pool.FreeCount).Select(_ => pool.Rent(0)).ToList();
        Assert.Equal(free.Count, free.Distinct().Count());
        Assert.DoesNotContain(free, b => inUse.Any(u => ReferenceEquals(u, b)));
        foreach (var b in free) pool.Return(b);
    }

    [Fact]
    public void StepsReuseTheBuffersOfEvictedStepsAndServeTheOldEncodersBytes()
    {
        var pool = new PayloadBufferPool(maxBuffers: 8);
        var broadcast = new StepBroadcast(PayloadCodec.Int8Block, capacity: 2, pool);
        var current = Parameters(1);
        var pendings = Commit(broadcast, ref current, 0, 6);
        // Step v + 3 is written into step v's buffer: step v went back to the pool when step v + 2 was committed.
        for (int v = 0; v + 3 < pendings.Count; v++) Assert.Same(pendings[v], pendings[v + 3]);
        Assert.Equal(3, pendings.Distinct().Count());
    }

    public static TheoryData<PayloadCodec, int> StepCodecs => new()
    {
        { PayloadCodec.Fp16, 0 },
        { PayloadCodec.Int8Block, 0 },
        { PayloadCodec.TopK4, 5 },
        { PayloadCodec.TopK2, 5 },
    };

    [Theory]
    [MemberData(nameof(StepCodecs))]
    public void AStepInAReusedDirtyBufferIsTheOldPerCallEncoding(PayloadCodec codec, int kept)
    {
        var settings = new CodecSettings(codec, kept);
        var pool = new PayloadBufferPool();
        var dirty = pool.Rent((int)TensorCodec.EncodedLength(Parameters(1), settings) + 1000);
        dirty.AsSpan().Fill(0x5A);
        pool.Return(dirty);
        using var step = StepBroadcast.EncodeStep(Parameters(2), settings, pool);
        Assert.Same(dirty, ArrayOf(step));
        Assert.Equal(StreamEncoded(Parameters(2), settings), step.Bytes.ToArray());
    }

    [Theory]
    [InlineData("fp16")]
    [InlineData("int8")]
    [InlineData("topk4")]
    public void ThePooledSealIsTheOldSealBitForBit(string codec)
    {
        using var h = new EngineHarness(o => o with { Codec = codec });
        var v = h.Join();
        var unit = v.Lease();
        var spec = EngineHarness.ToSpec(unit);
        var update = Parameters(3);
        var pool = new PayloadBufferPool(maxBuffers: 3);
        for (int i = 0; i < 2; i++) // the second into the first's buffer
        {
            var old = WorkUnitRunner.Seal(spec, update, v.Identity, 2.5, 4096, spec.CodecSettings.UsesFeedback ? new ErrorFeedback() : null);
            using var pooled = WorkUnitRunner.SealPooled(spec, update, v.Identity, 2.5, 4096, pool, spec.CodecSettings.UsesFeedback ? new ErrorFeedback() : null);
            Assert.Equal(old.Payload, pooled.Payload.Bytes.ToArray());
            Assert.Equal(old.Envelope.Bytes, pooled.Envelope.Bytes);
            Assert.Equal(!spec.CodecSettings.UsesFeedback, pooled.Payload.IsPooled); // top-k comes from its error feedback, unpooled
        }
    }

    /// <summary>
    /// The client's own holders over gRPC: each unit's payload is sealed into the client's pool, uploaded under its own lease, kept as
    /// the base of the next (eager) unit, and released when the next unit is uploaded. A lease disposed too early makes the eager start
    /// throw ObjectDisposedException (the run faults at once), and a buffer returned twice makes the pool throw.
    /// </summary>
    [Fact]
    public async Task EagerVolunteersStartFromTheirPooledLastPayloadOverGrpc()
    {
        await using var c = await LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with
        {
            Codec = "int8", MaxRounds = 4, Quorum = 2, SpareLeases = 0, MaxStaleness = 1, EagerSlots = 2, ProbationReputation = 0,
        });
        var volunteers = Enumerable.Range(0, 2).Select(i => c.Volunteer(name: $"e{i}", eager: true)).ToList();
        await c.TrainToTheEndAsync(volunteers.Select(v => v.Client), TimeSpan.FromMinutes(8));
        Assert.All(volunteers, v => Assert.Empty(v.View.Errors));
        Assert.True(volunteers.Sum(v => v.View.EagerUnits) > 0, "no eager unit was trained, so the kept payload was never read");
    }

    [Fact]
    public void AnUploadStillStreamingASealedPayloadReadsIntactBytesWhileLaterUnitsSealIntoThePool()
    {
        using var h = new EngineHarness(o => o with { Codec = "int8" });
        var v = h.Join();
        var unit = v.Lease();
        var spec = EngineHarness.ToSpec(unit);
        var pool = new PayloadBufferPool(maxBuffers: 3);
        var trained = WorkUnitRunner.SealPooled(spec, Parameters(4), v.Identity, 2.5, 4096, pool);
        byte[] expected = WorkUnitRunner.Seal(spec, Parameters(4), v.Identity, 2.5, 4096).Payload;

        // What VolunteerClient does: the upload holds a share for all its attempts; the chunks wrap the buffer without copying.
        var upload = trained.Share();
        using var chunks = UpdateStream.Messages("session", upload.Envelope, upload.Payload.Bytes, chunkBytes: 8192).GetEnumerator();
        var sent = new MemoryStream();
        Assert.True(chunks.MoveNext());
        Assert.True(chunks.MoveNext());
        sent.Write(chunks.Current.Data.Span);
        trained.Dispose(); // the client moves on (e.g. _previous replaced) while the stream is still being written
        for (int seed = 5; seed < 9; seed++) WorkUnitRunner.SealPooled(spec, Parameters(seed), v.Identity, 2.5, 4096, pool).Dispose();
        var grabbed = Enumerable.Range(0, pool.FreeCount + 1).Select(_ => pool.Rent(expected.Length)).ToList();
        foreach (var g in grabbed) g.AsSpan().Fill(0xAB);
        Assert.DoesNotContain(grabbed, g => ReferenceEquals(g, ArrayOf(upload.Payload)));
        while (chunks.MoveNext()) sent.Write(chunks.Current.Data.Span);
        Assert.Equal(expected, sent.ToArray());

        int free = pool.FreeCount;
        upload.Dispose();
        upload.Dispose();
        Assert.Equal(free + 1, pool.FreeCount);
    }
}
