namespace Hivemind.Volunteer.Relay;

/// <summary>What trying the listed relays gave: a verified payload and the relay it came from, or nothing; and why each relay tried failed.</summary>
public sealed record RelayFetchOutcome(byte[]? Payload, string? Relay, IReadOnlyList<string> Faults);
