using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using MessagePack;

namespace Hivemind.Protocol.Tests.Envelopes;

/// <summary>Envelope bytes are deterministic, round-trip, and hostile bytes fail with a clean reason.</summary>
public sealed class EnvelopeSerializerTests
{
    [Fact]
    public void SameEnvelopeGivesSameBytesWhateverTheShardOrder()
    {
        using var identity = VolunteerIdentity.Create();
        byte[] a = EnvelopeSerializer.Serialize(EnvelopeFixtures.Envelope(identity));
        byte[] b = EnvelopeSerializer.Serialize(EnvelopeFixtures.Envelope(identity, experts: [new(0, 9), new(1, 5), new(0, 2)]));
        Assert.Equal(a, b);
        Assert.NotEqual(a, EnvelopeSerializer.Serialize(EnvelopeFixtures.Envelope(identity, workUnitId: "r7-u4")));
    }

    [Fact]
    public void RoundTripKeepsEveryField()
    {
        using var identity = VolunteerIdentity.Create();
        var original = EnvelopeFixtures.Envelope(identity);
        var back = EnvelopeSerializer.Deserialize(EnvelopeSerializer.Serialize(original));
        Assert.Equal(original.ProtocolVersion, back.ProtocolVersion);
        Assert.Equal(original.VolunteerKey, back.VolunteerKey);
        Assert.Equal(original.WorkUnitId, back.WorkUnitId);
        Assert.Equal(original.Round, back.Round);
        Assert.Equal(original.ModelVersion, back.ModelVersion);
        Assert.Equal([new(0, 2), new(0, 9), new(1, 5)], back.Experts);
        Assert.Equal(original.IncludesTrunk, back.IncludesTrunk);
        Assert.Equal(original.Codec, back.Codec);
        Assert.Equal(original.PayloadLength, back.PayloadLength);
        Assert.Equal(original.PayloadSha256, back.PayloadSha256);
        Assert.Equal(original.Tokens, back.Tokens);
        Assert.Equal(original.MeanLoss, back.MeanLoss);
        Assert.Equal(original.RunId, back.RunId);
        Assert.Equal(identity.VolunteerId, back.VolunteerId);
    }

    [Fact]
    public void OversizedEnvelopeIsRejectedBeforeDecoding()
    {
        var limits = new ProtocolLimits { MaxEnvelopeBytes = 16 };
        var e = Assert.Throws<ProtocolException>(() => EnvelopeSerializer.Deserialize(new byte[17], limits));
        Assert.Equal(RejectReason.Oversized, e.Reason);
        Assert.Contains("17", e.Message);
    }

    public static TheoryData<string, byte[]> HostileInputs()
    {
        using var identity = VolunteerIdentity.Create();
        byte[] valid = EnvelopeSerializer.Serialize(EnvelopeFixtures.Envelope(identity));
        var data = new TheoryData<string, byte[]>
        {
            { "empty", [] },
            { "nil", [0xc0] },
            { "a bare integer", [0x07] },
            { "truncated", valid[..^3] },
            { "trailing byte", [.. valid, 0x00] },
            { "wrong field count", [0x93, 0x01, 0x02, 0x03] },
            { "array of 2^32-1 elements declared", [0xdd, 0xff, 0xff, 0xff, 0xff] },
            { "map instead of array", [0x81, 0x00, 0x01] },
            { "deeply nested arrays", [.. Enumerable.Repeat((byte)0x91, 500), 0x00] },
        };
        // Same envelope, but the round (key 3, value 7) written as a non-minimal uint64: decodes to equal values, not canonical.
        int roundIndex = Array.IndexOf(valid, (byte)0x07, 40);
        data.Add("non-canonical integer", [.. valid[..roundIndex], 0xcf, 0, 0, 0, 0, 0, 0, 0, 7, .. valid[(roundIndex + 1)..]]);
        // A 31-byte key: every field decodes, the constructor refuses it.
        byte[] shortKey = MessagePackSerializer.Serialize(new object[] { 1u, new byte[31], "u", 1, 1, Array.Empty<object>(), true, 1, 0, new byte[32], 0, 0.0 });
        data.Add("31-byte volunteer key", shortKey);
        data.Add("unknown codec", MessagePackSerializer.Serialize(new object[] { 1u, new byte[32], "u", 1, 1, Array.Empty<object>(), true, 9, 0, new byte[32], 0, 0.0 }));
        return data;
    }

    [Theory]
    [MemberData(nameof(HostileInputs))]
    public void HostileBytesFailAsMalformedEnvelope(string what, byte[] bytes)
    {
        var e = Assert.Throws<ProtocolException>(() => EnvelopeSerializer.Deserialize(bytes));
        Assert.True(e.Reason == RejectReason.MalformedEnvelope, $"{what}: got {e.Reason}: {e.Message}");
    }

    [Fact]
    public void NonCanonicalVariantReallyDecodesToTheSameValues()
    {
        // Guards the "non-canonical integer" case above: it must be rejected for form, not because the edit broke it.
        using var identity = VolunteerIdentity.Create();
        byte[] valid = EnvelopeSerializer.Serialize(EnvelopeFixtures.Envelope(identity));
        int roundIndex = Array.IndexOf(valid, (byte)0x07, 40);
        byte[] variant = [.. valid[..roundIndex], 0xcf, 0, 0, 0, 0, 0, 0, 0, 7, .. valid[(roundIndex + 1)..]];
        var decoded = MessagePackSerializer.Deserialize<UpdateEnvelope>(variant);
        Assert.Equal(7ul, decoded.Round);
        Assert.Equal(valid, EnvelopeSerializer.Serialize(decoded));
    }
}
