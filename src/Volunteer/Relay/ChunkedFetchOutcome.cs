namespace Hivemind.Volunteer.Relay;

/// <summary>
/// A chunked download's verified payload, the bytes each source gave, and what went wrong on the way: one line per relay fault, and the
/// coordinator's verdict on each report of a lying relay.
/// </summary>
public sealed record ChunkedFetchOutcome(byte[] Payload, long BytesFromCoordinator, IReadOnlyDictionary<string, long> BytesFromRelays,
    IReadOnlyList<string> Faults, IReadOnlyList<string> Reports);
