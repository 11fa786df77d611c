namespace Hivemind.Protocol.Relays;

/// <summary>A verified payload, where its bytes came from, and every relay fault seen (hash mismatches are to be reported to the coordinator).</summary>
public sealed record RelayDownloadResult(byte[] Payload, long BytesFromCoordinator, IReadOnlyDictionary<string, long> BytesFromRelays, IReadOnlyList<RelayFault> Faults);
