using Hivemind.Protocol.Envelopes;

namespace Hivemind.Protocol.Streaming;

/// <summary>An update stream read to the end: the session it came on, its verified envelope, and the payload whose length and hash match it.</summary>
public sealed record ReceivedUpdate(string SessionToken, SignedEnvelope Envelope, byte[] Payload);
