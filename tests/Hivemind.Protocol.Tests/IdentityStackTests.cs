using NSec.Cryptography;

namespace Hivemind.Protocol.Tests;

/// <summary>Proves that NSec (libsodium) signs and verifies on this host.</summary>
public sealed class IdentityStackTests
{
    [Fact]
    public void Ed25519SignsAndVerifies()
    {
        var algorithm = SignatureAlgorithm.Ed25519;
        using var key = Key.Create(algorithm);
        byte[] message = "round 1, work unit 7"u8.ToArray();
        byte[] signature = algorithm.Sign(key, message);
        Assert.True(algorithm.Verify(key.PublicKey, message, signature));
        message[0] ^= 1;
        Assert.False(algorithm.Verify(key.PublicKey, message, signature));
    }
}
