namespace Hivemind.Protocol.Relays;

/// <summary>Why a relay was skipped: it sent a chunk that does not match the signed manifest, failed, or did not answer in time.</summary>
public sealed record RelayFault(string Relay, int Chunk, RelayFaultKind Kind, string Detail);

/// <summary>A lie (hash mismatch) is evidence to report; a failure or timeout is only a reason to look elsewhere.</summary>
public enum RelayFaultKind
{
    HashMismatch,
    Failed,
    TimedOut,
}
