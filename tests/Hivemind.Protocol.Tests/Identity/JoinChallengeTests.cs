using System.Security.Cryptography;
using Hivemind.Protocol.Identity;

namespace Hivemind.Protocol.Tests.Identity;

/// <summary>A join signature binds run, key, nonce, memory, device and token, and nothing else verifies.</summary>
public sealed class JoinChallengeTests
{
    private const ulong Memory = 8ul << 30;

    private static readonly byte[] Run = RunId.Draw();
    private static readonly byte[] OtherRun = RunId.Draw();

    [Fact]
    public void SignatureVerifiesOnlyForTheSignedFields()
    {
        using var identity = VolunteerIdentity.Create();
        using var other = VolunteerIdentity.Create();
        byte[] nonce = RandomNumberGenerator.GetBytes(JoinChallenge.NonceBytes);
        byte[] signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, Run, nonce, Memory, "cpu", "token");
        Assert.True(JoinChallenge.Verify(signature, ProtocolVersion.Current, Run, identity.PublicKey, nonce, Memory, "cpu", "token"));

        byte[] otherNonce = (byte[])nonce.Clone();
        otherNonce[0] ^= 1;
        Assert.False(JoinChallenge.Verify(signature, ProtocolVersion.Current, Run, identity.PublicKey, otherNonce, Memory, "cpu", "token"));
        Assert.False(JoinChallenge.Verify(signature, ProtocolVersion.Current, Run, other.PublicKey, nonce, Memory, "cpu", "token"));
        Assert.False(JoinChallenge.Verify(signature, ProtocolVersion.Current + 1, Run, identity.PublicKey, nonce, Memory, "cpu", "token"));
        Assert.False(JoinChallenge.Verify(signature, ProtocolVersion.Current, Run, identity.PublicKey, nonce, Memory + 1, "cpu", "token"));
        Assert.False(JoinChallenge.Verify(signature, ProtocolVersion.Current, Run, identity.PublicKey, nonce, Memory, "cuda", "token"));
        Assert.False(JoinChallenge.Verify(signature, ProtocolVersion.Current, Run, identity.PublicKey, nonce, Memory, "cpu", "tokens"));
        Assert.False(JoinChallenge.Verify(signature, ProtocolVersion.Current, OtherRun, identity.PublicKey, nonce, Memory, "cpu", "token"));
        // Moving a byte across the device/token boundary must change the message.
        Assert.False(JoinChallenge.Verify(signature, ProtocolVersion.Current, Run, identity.PublicKey, nonce, Memory, "cput", "oken"));
    }

    [Fact]
    public void MessageStartsWithTheJoinDomain()
    {
        using var identity = VolunteerIdentity.Create();
        byte[] message = JoinChallenge.BuildMessage(1, Run, identity.PublicKey, new byte[JoinChallenge.NonceBytes], 0, "cpu", "");
        Assert.True(message.AsSpan().StartsWith("hivemind/join/v1\0"u8));
        Assert.Equal(17 + 4 + RunId.Bytes + 32 + 32 + 8 + 3 + 1, message.Length);
    }

    [Fact]
    public void DeviceWithNulIsRefused()
    {
        using var identity = VolunteerIdentity.Create();
        Assert.Throws<ArgumentException>(() => JoinChallenge.BuildMessage(1, Run, identity.PublicKey, new byte[32], 0, "c\0pu", ""));
        Assert.False(JoinChallenge.Verify(new byte[64], 1, Run, identity.PublicKey, new byte[32], 0, "c\0pu", ""));
    }
}
