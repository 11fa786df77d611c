namespace Hivemind.Protocol.Envelopes;

/// <summary>An envelope with its exact signed bytes and Ed25519 signature, as carried in <c>UpdateHeader</c> and kept as evidence.</summary>
public sealed record SignedEnvelope(UpdateEnvelope Envelope, byte[] Bytes, byte[] Signature);
