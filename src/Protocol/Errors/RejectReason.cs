namespace Hivemind.Protocol.Errors;

/// <summary>Why a request or an update was refused: one value per check, each with its own gRPC status and trailer token.</summary>
/// <remarks>Values are stable on the wire through their tokens (<see cref="RejectReasons.Token"/>), not their numbers.</remarks>
public enum RejectReason
{
    /// <summary>The client speaks a protocol version this coordinator does not serve.</summary>
    ProtocolMismatch = 1,
    /// <summary>A request is missing a required field or has one of the wrong form (not an envelope or payload problem).</summary>
    MalformedRequest,
    /// <summary>The signed envelope could not be decoded, or is not in canonical form.</summary>
    MalformedEnvelope,
    /// <summary>The tensor payload could not be decoded (bad header, lengths, trailing bytes).</summary>
    MalformedPayload,
    /// <summary>An Ed25519 signature (join or update) does not verify.</summary>
    BadSignature,
    /// <summary>The join challenge is unknown, already used, or issued to another key.</summary>
    BadChallenge,
    /// <summary>The join challenge is past its expiry.</summary>
    ExpiredChallenge,
    /// <summary>The admission token is missing or wrong.</summary>
    BadAdmissionToken,
    /// <summary>The session token is unknown or expired.</summary>
    InvalidSession,
    /// <summary>No volunteer with this key has joined.</summary>
    UnknownVolunteer,
    /// <summary>The volunteer is banned.</summary>
    Banned,
    /// <summary>The envelope's volunteer key is not the key of the session that sent it.</summary>
    VolunteerMismatch,
    /// <summary>The work unit is not leased to this volunteer (never issued, or leased to someone else).</summary>
    UnleasedWorkUnit,
    /// <summary>The lease deadline has passed.</summary>
    ExpiredLease,
    /// <summary>Kept for wire stability; no longer sent: an identical resubmission is idempotent and a different one is <see cref="Equivocation"/>.</summary>
    Replay,
    /// <summary>The update is for a round that is not the current one.</summary>
    StaleRound,
    /// <summary>The update was trained from a model version that is not the current one.</summary>
    StaleVersion,
    /// <summary>The envelope's shard differs from the leased work unit's shard.</summary>
    WrongShard,
    /// <summary>The payload's codec is not the one the work unit asked for, or is unknown.</summary>
    WrongCodec,
    /// <summary>The payload's tensor names differ from the shard's.</summary>
    WrongTensorNames,
    /// <summary>A tensor's shape differs from the model's.</summary>
    WrongShape,
    /// <summary>A value (or a block scale) is NaN or infinite.</summary>
    NonFinite,
    /// <summary>The update's norm exceeds the configured bound.</summary>
    NormTooLarge,
    /// <summary>A message, chunk, envelope or payload exceeds its limit, or more bytes arrived than declared.</summary>
    Oversized,
    /// <summary>The stream ended before the declared payload length arrived.</summary>
    TruncatedStream,
    /// <summary>The payload's SHA-256 differs from the signed envelope's.</summary>
    HashMismatch,
    /// <summary>Too many requests from this peer; retry later.</summary>
    RateLimited,
    /// <summary>The coordinator is shutting down, not ready, or receiving as many bytes as it allows at once; retry later.</summary>
    Unavailable,
    /// <summary>The envelope's token count is not the unit's (inner steps × batch × sequence length); weights come from the unit, never from the volunteer.</summary>
    WrongTokenCount,
    /// <summary>Different signed content for a work unit whose update was already accepted: evidence against the key.</summary>
    Equivocation,
    /// <summary>Another submission for the same work unit is still being received.</summary>
    SubmitInProgress,
    /// <summary>The update stream was silent for too long or slower than the coordinator's minimum rate.</summary>
    TooSlow,
    /// <summary>The coordinator could not store the update (disk full, I/O error); keep the update and retry the submit later.</summary>
    CoordinatorStorage,
    /// <summary>A trunk update that is exactly zero: no training happened.</summary>
    NoProgress,
    /// <summary>The join or update was signed for another run (another coordinator, or this one's data directory before a reset).</summary>
    WrongRun,
}
