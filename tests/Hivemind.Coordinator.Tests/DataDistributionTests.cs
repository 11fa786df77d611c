using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Data;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests;

/// <summary>One small real-text corpus for every test of the class (writing and tokenizing it takes a moment).</summary>
public sealed class TextCorpusFixture : IDisposable
{
    /// <summary>Two slices of the default size (the second absorbs the remainder).</summary>
    private const long TrainBytes = (5L << 20) / 2;

    private const long HeldOutBytes = 64 << 10;

    private readonly TempDirectory _dir = new();

    public TextCorpusFixture() => Folder = TextCorpusFolder.Create(Path.Combine(_dir.Path, "corpus"), TrainBytes, HeldOutBytes);

    public string Folder { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Real text through the real gRPC service (issue 13): units name content-addressed token slices, volunteers fetch them verified,
/// and every malformed or hostile data request is refused with a reason before a byte is read.
/// </summary>
public sealed class DataDistributionTests(TextCorpusFixture corpus) : IClassFixture<TextCorpusFixture>, IAsyncLifetime
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    private LoopbackCoordinator _c = null!;
    private GrpcChannel _channel = null!;
    private Protocol.V1.Coordinator.CoordinatorClient _client = null!;
    private DataDistribution.DataDistributionClient _data = null!;
    private readonly List<VolunteerIdentity> _identities = [];

    public async Task InitializeAsync()
    {
        _c = await LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with { Data = corpus.Folder }, new FakeTimeProvider(DateTimeOffset.UtcNow));
        _channel = GrpcChannel.ForAddress(_c.Address);
        _client = new Protocol.V1.Coordinator.CoordinatorClient(_channel);
        _data = new DataDistribution.DataDistributionClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        foreach (var i in _identities) i.Dispose();
        await _c.DisposeAsync();
    }

    [Fact]
    public async Task UnitsNameASliceOfTheCorpusByItsHash()
    {
        var (_, unit) = await JoinAndLeaseAsync();
        Assert.Equal(DatasetKind.File, unit.Data.Kind);
        Assert.Equal(2u, unit.Data.TokenBytes);
        string sha = Convert.ToHexStringLower(unit.Data.FileSha256.Span);
        Assert.True(_c.Engine.Text!.TryFind(sha, out var slice));
        Assert.Equal((ulong)slice.ByteLength, unit.Data.ByteEnd);
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(SliceBytes(slice))));
        Assert.Equal(2, _c.Engine.Text.Slices.Count);
    }

    [Fact]
    public async Task LeasedSliceDownloadsWholeAndResumesFromAnOffset()
    {
        var (session, unit) = await JoinAndLeaseAsync();
        string sha = Convert.ToHexStringLower(unit.Data.FileSha256.Span);
        _c.Engine.Text!.TryFind(sha, out var slice);
        byte[] whole = await DownloadAsync(session, sha, 0, 0);
        Assert.Equal(SliceBytes(slice), whole);
        long half = slice.ByteLength / 2;
        byte[] rest = await DownloadAsync(session, sha, (ulong)half, 0);
        Assert.Equal(whole[(int)half..], rest);
        byte[] middle = await DownloadAsync(session, sha, 10, 100);
        Assert.Equal(whole[10..110], middle);
    }

    [Theory]
    [InlineData("../../data/coordinator.db")]
    [InlineData("../train.tokens")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    public async Task PathLikeSliceNamesAreRefused(string name)
    {
        var (session, _) = await JoinAndLeaseAsync();
        await AssertRefusedAsync(session, name, 0, 0, RejectReason.MalformedRequest, "is not a SHA-256");
    }

    [Fact]
    public async Task UpperCaseHashIsRefusedNotNormalised()
    {
        var (session, unit) = await JoinAndLeaseAsync();
        string upper = Convert.ToHexString(unit.Data.FileSha256.Span);
        await AssertRefusedAsync(session, upper, 0, 0, RejectReason.MalformedRequest, "is not a SHA-256");
    }

    [Fact]
    public async Task HashesOfFilesOutsideTheServedSlicesAreRefused()
    {
        var (session, _) = await JoinAndLeaseAsync();
        // Real files on the coordinator's disk that are not slices: the held-out tokens (never served) and the whole train file.
        foreach (string file in new[] { "held-out.tokens", "train.tokens" })
        {
            string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(corpus.Folder, file))));
            await AssertRefusedAsync(session, sha, 0, 0, RejectReason.MalformedRequest, "no slice of the served corpus");
        }
        await AssertRefusedAsync(session, new string('0', 64), 0, 0, RejectReason.MalformedRequest, "no slice of the served corpus");
    }

    [Fact]
    public async Task RangesPastTheSliceAreRefused()
    {
        var (session, unit) = await JoinAndLeaseAsync();
        string sha = Convert.ToHexStringLower(unit.Data.FileSha256.Span);
        ulong length = unit.Data.ByteEnd;
        await AssertRefusedAsync(session, sha, 0, length + 1, RejectReason.MalformedRequest, "runs past the end");
        await AssertRefusedAsync(session, sha, length - 1, 2, RejectReason.MalformedRequest, "runs past the end");
        await AssertRefusedAsync(session, sha, length, 0, RejectReason.MalformedRequest, "at or past the end");
        await AssertRefusedAsync(session, sha, ulong.MaxValue, ulong.MaxValue, RejectReason.MalformedRequest, "at or past the end");
    }

    [Fact]
    public async Task SlicesOfUnitsLeasedToOthersAndUnknownSessionsAreRefused()
    {
        var (_, unit) = await JoinAndLeaseAsync();
        string sha = Convert.ToHexStringLower(unit.Data.FileSha256.Span);
        string other = await JoinAsync();
        await AssertRefusedAsync(other, sha, 0, 0, RejectReason.UnleasedWorkUnit, "holds no live lease");
        await AssertRefusedAsync("not-a-session", sha, 0, 0, RejectReason.InvalidSession, "session token");
    }

    [Fact]
    public async Task VolunteersTrainOnFetchedSlicesAndCacheThemVerified()
    {
        await using var c = await LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with { Data = corpus.Folder, MaxRounds = 1, Quorum = 2 });
        var volunteers = Enumerable.Range(0, 2).Select(i => c.Volunteer(name: $"t{i}")).ToList();
        await c.TrainToTheEndAsync(volunteers.Select(v => v.Client), RunTimeout);
        Assert.Equal(2, c.Engine.Store.LedgerCount());
        var cached = Directory.GetFiles(c.Scratch, "*.tokens", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == DataSliceFetcher.CacheFolder).ToList();
        Assert.NotEmpty(cached);
        foreach (string f in cached)
        {
            string sha = Path.GetFileNameWithoutExtension(f);
            Assert.True(c.Engine.Text!.TryFind(sha, out _), $"{f} is not named by a slice of the corpus");
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
        }
        Assert.True(c.Engine.BytesSent >= new FileInfo(cached[0]).Length, "the data bytes count as bytes sent");
    }

    [Fact]
    public async Task MirrorServingWrongBytesIsRefusedAndNothingIsCached()
    {
        var (session, spec, bytes) = await LeasedSliceAsync();
        string mirror = Mirror("wrong", spec.FileSha256!, Flip(bytes));
        var fetcher = new DataSliceFetcher(_data, Path.Combine(_c.Scratch, "cache-wrong"), mirror);
        long sentBefore = _c.Engine.BytesSent;
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => fetcher.FetchAsync(spec, session, CancellationToken.None));
        Assert.Contains("refused and not cached", e.Message);
        Assert.Contains(spec.FileSha256!, e.Message);
        Assert.Contains("--data-mirror", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(_c.Scratch, "cache-wrong", DataSliceFetcher.CacheFolder)));
        Assert.Equal(sentBefore, _c.Engine.BytesSent);
    }

    [Fact]
    public async Task MirrorServingMoreThanTheSliceIsCutOff()
    {
        var (session, spec, bytes) = await LeasedSliceAsync();
        string mirror = Mirror("long", spec.FileSha256!, [.. bytes, .. new byte[1 << 16]]);
        var fetcher = new DataSliceFetcher(_data, Path.Combine(_c.Scratch, "cache-long"), mirror);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => fetcher.FetchAsync(spec, session, CancellationToken.None));
        Assert.Contains("more than", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(_c.Scratch, "cache-long", DataSliceFetcher.CacheFolder)));
    }

    [Fact]
    public async Task MirrorWithoutTheSliceIsAClearError()
    {
        var (session, spec, _) = await LeasedSliceAsync();
        string mirror = Directory.CreateDirectory(Path.Combine(_c.Scratch, "empty-mirror")).FullName;
        var fetcher = new DataSliceFetcher(_data, Path.Combine(_c.Scratch, "cache-empty"), mirror);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => fetcher.FetchAsync(spec, session, CancellationToken.None));
        Assert.Contains("could not serve", e.Message);
    }

    [Fact]
    public async Task MirrorWithTheRightBytesIsUsedInsteadOfTheCoordinator()
    {
        var (session, spec, bytes) = await LeasedSliceAsync();
        string mirror = Mirror("right", spec.FileSha256!, bytes);
        var fetcher = new DataSliceFetcher(_data, Path.Combine(_c.Scratch, "cache-right"), mirror);
        long sentBefore = _c.Engine.BytesSent;
        var (path, fetched, source) = await fetcher.FetchAsync(spec, session, CancellationToken.None);
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Equal(bytes.Length, fetched);
        Assert.StartsWith("mirror", source);
        Assert.Equal(sentBefore, _c.Engine.BytesSent);
        var again = await fetcher.FetchAsync(spec, session, CancellationToken.None);
        Assert.Equal((path, 0L, "cache"), again);
    }

    [Fact]
    public async Task BrokenDownloadResumesFromTheBytesOnDisk()
    {
        var (session, spec, bytes) = await LeasedSliceAsync();
        var fetcher = new DataSliceFetcher(_data, Path.Combine(_c.Scratch, "cache-resume"));
        int half = bytes.Length / 2;
        Directory.CreateDirectory(Path.GetDirectoryName(fetcher.PathFor(spec.FileSha256!))!);
        File.WriteAllBytes(fetcher.PathFor(spec.FileSha256!) + ".part", bytes[..half]);
        long sentBefore = _c.Engine.BytesSent;
        var (path, fetched, source) = await fetcher.FetchAsync(spec, session, CancellationToken.None);
        Assert.Equal("coordinator", source);
        Assert.Equal(bytes.Length - half, fetched);
        Assert.Equal(bytes.Length - half, _c.Engine.BytesSent - sentBefore);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task CorruptPartialOrCachedCopiesAreNeverTrained()
    {
        var (session, spec, bytes) = await LeasedSliceAsync();
        var fetcher = new DataSliceFetcher(_data, Path.Combine(_c.Scratch, "cache-corrupt"));
        string path = fetcher.PathFor(spec.FileSha256!);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        byte[] badPrefix = bytes[..100];
        badPrefix[10] ^= 1;
        File.WriteAllBytes(path + ".part", badPrefix);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => fetcher.FetchAsync(spec, session, CancellationToken.None));
        Assert.Contains("refused and not cached", e.Message);
        Assert.False(File.Exists(path) || File.Exists(path + ".part"));
        await fetcher.FetchAsync(spec, session, CancellationToken.None);
        File.WriteAllBytes(path, Flip(bytes));
        var (again, fetched, _) = await fetcher.FetchAsync(spec, session, CancellationToken.None);
        Assert.Equal(bytes.Length, fetched);
        Assert.Equal(bytes, File.ReadAllBytes(again));
    }

    private async Task<(string Session, DataSpec Spec, byte[] Bytes)> LeasedSliceAsync()
    {
        var (session, unit) = await JoinAndLeaseAsync();
        var spec = VolunteerClient.ToSpec(unit).Data;
        _c.Engine.Text!.TryFind(spec.FileSha256!, out var slice);
        return (session, spec, SliceBytes(slice));
    }

    private string Mirror(string name, string sha, byte[] bytes)
    {
        string folder = Directory.CreateDirectory(Path.Combine(_c.Scratch, "mirror-" + name)).FullName;
        File.WriteAllBytes(Path.Combine(folder, TokenSlice.FileNameFor(sha)), bytes);
        return folder;
    }

    private static byte[] Flip(byte[] bytes)
    {
        var copy = bytes.ToArray();
        copy[copy.Length / 3] ^= 1;
        return copy;
    }

    private byte[] SliceBytes(TokenSlice slice)
    {
        var bytes = new byte[slice.ByteLength];
        _c.Engine.Text!.Read(slice, 0, bytes);
        return bytes;
    }

    private async Task AssertRefusedAsync(string session, string name, ulong offset, ulong length, RejectReason expected, string because)
    {
        long sentBefore = _c.Engine.BytesSent;
        var e = await Assert.ThrowsAsync<RpcException>(() => DownloadAsync(session, name, offset, length));
        Assert.True(RejectReasons.TryGetReason(e, out var reason), $"no {RejectReasons.TrailerKey} trailer on {e.Status}");
        Assert.Equal(expected, reason);
        Assert.Equal(expected.ToStatusCode(), e.StatusCode);
        Assert.Contains(because, e.Status.Detail);
        Assert.Equal(sentBefore, _c.Engine.BytesSent);
        Assert.Equal(0, _c.Engine.Store.LedgerCount());
    }

    private async Task<byte[]> DownloadAsync(string session, string sha, ulong offset, ulong length)
    {
        using var call = _data.DownloadData(new DataRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = session, SliceSha256 = sha, Offset = offset, Length = length,
        });
        using var bytes = new MemoryStream();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            Assert.True(call.ResponseStream.Current.Data.Length <= ProtocolLimits.DefaultChunkBytes);
            call.ResponseStream.Current.Data.WriteTo(bytes);
        }
        return bytes.ToArray();
    }

    private async Task<string> JoinAsync()
    {
        var identity = VolunteerIdentity.Create();
        _identities.Add(identity);
        return await GrpcVolunteer.JoinAsync(_client, identity);
    }

    private async Task<(string Session, Protocol.V1.WorkUnit Unit)> JoinAndLeaseAsync()
    {
        string session = await JoinAsync();
        var work = await _client.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session });
        Assert.Equal(WorkReply.ResultOneofCase.WorkUnit, work.ResultCase);
        return (session, work.WorkUnit);
    }
}
