using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Relays;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Protocol.Tests.Relays;

/// <summary>A relay serves only listed versions it verified, within its upload cap.</summary>
public sealed class RelayShelfTests : IDisposable
{
    private const int ChunkBytes = 1000;
    private readonly VolunteerIdentity _coordinator = VolunteerIdentity.Create();
    private readonly byte[] _payload = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();

    public void Dispose() => _coordinator.Dispose();

    [Fact]
    public void Serves_only_versions_the_coordinator_lists()
    {
        var shelf = new RelayShelf(1_000_000, new FakeTimeProvider());
        shelf.Hold(ChunkManifest.Create(_coordinator, 3, _payload, ChunkBytes), _coordinator.PublicKey, _payload);
        Assert.Contains("not listed", shelf.TryServe(3, 0).Refusal);
        shelf.List([3]);
        Assert.Equal(_payload[..ChunkBytes], shelf.TryServe(3, 0).Chunk);
        shelf.List([3, 4]);
        Assert.Contains("not held", shelf.TryServe(4, 0).Refusal);
        Assert.Contains("out of range 0..4", shelf.TryServe(3, 5).Refusal);
        shelf.List([4]);
        Assert.Contains("not listed", shelf.TryServe(3, 0).Refusal);
        shelf.List([3]);
        Assert.Contains("not held", shelf.TryServe(3, 0).Refusal); // delisting dropped it
    }

    [Fact]
    public void Upload_cap_is_enforced_on_the_relays_clock()
    {
        var time = new FakeTimeProvider();
        var shelf = new RelayShelf(ChunkBytes, time); // one chunk per second
        shelf.Hold(ChunkManifest.Create(_coordinator, 3, _payload, ChunkBytes), _coordinator.PublicKey, _payload);
        shelf.List([3]);
        Assert.NotNull(shelf.TryServe(3, 0).Chunk);
        var busy = shelf.TryServe(3, 1);
        Assert.Null(busy.Chunk);
        Assert.Equal(TimeSpan.FromSeconds(1), busy.RetryAfter);
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Null(shelf.TryServe(3, 1).Chunk);
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.NotNull(shelf.TryServe(3, 1).Chunk);
    }

    [Fact]
    public void A_copy_that_does_not_match_the_manifest_is_never_held()
    {
        var shelf = new RelayShelf(1_000_000, new FakeTimeProvider());
        var manifest = ChunkManifest.Create(_coordinator, 3, _payload, ChunkBytes);
        var damaged = _payload.ToArray();
        damaged[2500] ^= 1;
        var e = Assert.Throws<InvalidDataException>(() => shelf.Hold(manifest, _coordinator.PublicKey, damaged));
        Assert.Contains("chunk 2 of version 3", e.Message);
        using var other = VolunteerIdentity.Create();
        Assert.Throws<InvalidDataException>(() => shelf.Hold(manifest, other.PublicKey, _payload));
        shelf.List([3]);
        Assert.Contains("not held", shelf.TryServe(3, 0).Refusal);
    }
}
