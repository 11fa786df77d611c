using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;

namespace Hivemind.Protocol.Tests.Envelopes;

/// <summary>A signed envelope verifies with its key only, and any change to bytes or signature breaks it.</summary>
public sealed class EnvelopeSignerTests
{
    [Fact]
    public void SignedEnvelopeOpensToTheSameEnvelope()
    {
        using var identity = VolunteerIdentity.Create();
        var signed = EnvelopeSigner.Sign(identity, EnvelopeFixtures.Envelope(identity));
        Assert.True(EnvelopeSigner.Verify(signed.Bytes, signed.Signature, identity.PublicKey));
        var opened = EnvelopeSigner.Open(signed.Bytes, signed.Signature);
        Assert.Equal(signed.Bytes, opened.Bytes);
        Assert.Equal("r7-u3", opened.Envelope.WorkUnitId);
    }

    [Fact]
    public void EveryFlippedBitOfEnvelopeOrSignatureFailsVerification()
    {
        using var identity = VolunteerIdentity.Create();
        var signed = EnvelopeSigner.Sign(identity, EnvelopeFixtures.Envelope(identity));
        for (int i = 0; i < signed.Bytes.Length; i++)
        {
            byte[] bytes = (byte[])signed.Bytes.Clone();
            bytes[i] ^= 0x01;
            Assert.False(EnvelopeSigner.Verify(bytes, signed.Signature, identity.PublicKey), $"flipped envelope byte {i} still verifies");
        }
        for (int i = 0; i < signed.Signature.Length; i++)
        {
            byte[] signature = (byte[])signed.Signature.Clone();
            signature[i] ^= 0x80;
            Assert.False(EnvelopeSigner.Verify(signed.Bytes, signature, identity.PublicKey), $"flipped signature byte {i} still verifies");
        }
    }

    [Fact]
    public void AnotherKeyDoesNotVerify()
    {
        using var identity = VolunteerIdentity.Create();
        using var other = VolunteerIdentity.Create();
        var signed = EnvelopeSigner.Sign(identity, EnvelopeFixtures.Envelope(identity));
        Assert.False(EnvelopeSigner.Verify(signed.Bytes, signed.Signature, other.PublicKey));
    }

    [Fact]
    public void EnvelopeNamingAnotherKeyIsRejectedAsBadSignature()
    {
        // The attacker signs an envelope that claims someone else's key: Open checks against the key inside.
        using var victim = VolunteerIdentity.Create();
        using var attacker = VolunteerIdentity.Create();
        var forged = EnvelopeSigner.Sign(attacker, EnvelopeFixtures.Envelope(attacker));
        var claimed = EnvelopeSerializer.Serialize(EnvelopeFixtures.Envelope(victim));
        var e = Assert.Throws<ProtocolException>(() => EnvelopeSigner.Open(claimed, forged.Signature));
        Assert.Equal(RejectReason.BadSignature, e.Reason);
        Assert.Contains(victim.VolunteerId, e.Message);
    }

    [Fact]
    public void JoinSignatureDoesNotPassForAnUpdateSignature()
    {
        using var identity = VolunteerIdentity.Create();
        var bytes = EnvelopeSerializer.Serialize(EnvelopeFixtures.Envelope(identity));
        // Same bytes signed without the update domain prefix must not verify as an update.
        Assert.False(EnvelopeSigner.Verify(bytes, identity.Sign(bytes), identity.PublicKey));
    }

    [Fact]
    public void WrongLengthSignatureIsBadSignature()
    {
        using var identity = VolunteerIdentity.Create();
        var signed = EnvelopeSigner.Sign(identity, EnvelopeFixtures.Envelope(identity));
        var e = Assert.Throws<ProtocolException>(() => EnvelopeSigner.Open(signed.Bytes, signed.Signature[..63]));
        Assert.Equal(RejectReason.BadSignature, e.Reason);
    }

    [Fact]
    public void SigningAnEnvelopeOfAnotherKeyIsRefused()
    {
        using var identity = VolunteerIdentity.Create();
        using var other = VolunteerIdentity.Create();
        var e = Assert.Throws<ArgumentException>(() => EnvelopeSigner.Sign(identity, EnvelopeFixtures.Envelope(other)));
        Assert.Contains(other.VolunteerId, e.Message);
    }
}
