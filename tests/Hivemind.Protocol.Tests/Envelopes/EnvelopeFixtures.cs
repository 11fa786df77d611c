using System.Security.Cryptography;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Envelopes;

/// <summary>Builds envelopes with every field set to a distinct, non-default value.</summary>
internal static class EnvelopeFixtures
{
    public static UpdateEnvelope Envelope(VolunteerIdentity identity, string workUnitId = "r7-u3", IReadOnlyList<ExpertKey>? experts = null) => new(
        protocolVersion: ProtocolVersion.Current,
        volunteerKey: identity.PublicKey,
        workUnitId: workUnitId,
        round: 7,
        modelVersion: 6,
        experts: experts ?? [new ExpertKey(1, 5), new ExpertKey(0, 2), new ExpertKey(0, 9)],
        includesTrunk: true,
        codec: PayloadCodec.Int8Block,
        payloadLength: 123_456_789,
        payloadSha256: SHA256.HashData("payload"u8),
        tokens: 65_536,
        meanLoss: 2.25,
        runId: [.. Enumerable.Range(0x40, RunId.Bytes).Select(i => (byte)i)]);
}
