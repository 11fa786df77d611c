using System.Security.Cryptography;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Relays;

namespace Hivemind.Protocol.Tests.Relays;

/// <summary>A relay's chunk signature binds the exact chunk it served: nothing else verifies with it.</summary>
public sealed class RelayChunkSignatureTests : IDisposable
{
    private const ulong Version = 7;
    private const int ChunkBytes = 256 << 10;
    private const int Index = 3;
    private readonly VolunteerIdentity _relay = VolunteerIdentity.Create();
    private readonly VolunteerIdentity _other = VolunteerIdentity.Create();
    private readonly byte[] _content = SHA256.HashData("payload"u8);
    private readonly byte[] _data = SHA256.HashData("chunk"u8);

    public void Dispose()
    {
        _relay.Dispose();
        _other.Dispose();
    }

    [Fact]
    public void Verifies_only_for_the_signed_chunk_and_the_relays_key()
    {
        var signature = RelayChunkSignature.Sign(_relay, Version, _content, ChunkBytes, Index, _data);
        Assert.True(RelayChunkSignature.Verify(_relay.PublicKey, Version, _content, ChunkBytes, Index, _data, signature));

        var otherHash = SHA256.HashData("another chunk"u8);
        Assert.False(RelayChunkSignature.Verify(_relay.PublicKey, Version, _content, ChunkBytes, Index, otherHash, signature));
        Assert.False(RelayChunkSignature.Verify(_relay.PublicKey, Version + 1, _content, ChunkBytes, Index, _data, signature));
        Assert.False(RelayChunkSignature.Verify(_relay.PublicKey, Version, otherHash, ChunkBytes, Index, _data, signature));
        Assert.False(RelayChunkSignature.Verify(_relay.PublicKey, Version, _content, ChunkBytes / 2, Index, _data, signature));
        Assert.False(RelayChunkSignature.Verify(_relay.PublicKey, Version, _content, ChunkBytes, Index + 1, _data, signature));
        Assert.False(RelayChunkSignature.Verify(_other.PublicKey, Version, _content, ChunkBytes, Index, _data, signature));
        Assert.False(RelayChunkSignature.Verify(_relay.PublicKey, Version, _content, ChunkBytes, Index, _data, signature[..^1]));
        Assert.False(RelayChunkSignature.Verify(_relay.PublicKey, Version, _content, ChunkBytes, Index, _data[..^1], signature));
    }

    [Fact]
    public void A_manifest_signature_is_never_a_chunk_signature()
    {
        // Same key, overlapping fields: the domain prefixes keep the two kinds of signature apart.
        var manifest = ChunkManifest.Create(_relay, Version, new byte[ChunkBytes], ChunkBytes);
        Assert.False(RelayChunkSignature.Verify(_relay.PublicKey, Version, _content, ChunkBytes, 0, manifest.HashOf(0), manifest.Signature));
    }
}
