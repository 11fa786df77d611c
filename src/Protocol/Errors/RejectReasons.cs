using System.Collections.Frozen;
using Grpc.Core;

namespace Hivemind.Protocol.Errors;

/// <summary>Maps each <see cref="RejectReason"/> to a gRPC status and a <c>hivemind-reason</c> trailer, and back.</summary>
public static class RejectReasons
{
    /// <summary>Trailer key carrying the reason token on every rejection.</summary>
    public const string TrailerKey = "hivemind-reason";

    /// <summary>Trailer key of an overloaded coordinator's advice: milliseconds to wait before retrying (clients add their own jitter on top).</summary>
    public const string RetryAfterTrailerKey = "hivemind-retry-after-ms";

    private static readonly RejectReasonInfo[] Table =
    [
        new(RejectReason.ProtocolMismatch, StatusCode.FailedPrecondition, "protocol-mismatch",
            $"upgrade the volunteer (it must speak protocol {ProtocolVersion.Minimum}..{ProtocolVersion.Current}); GetStatus reports the coordinator's version"),
        new(RejectReason.MalformedRequest, StatusCode.InvalidArgument, "malformed-request",
            "fill every required field as hivemind.proto describes; this is a client bug"),
        new(RejectReason.MalformedEnvelope, StatusCode.InvalidArgument, "malformed-envelope",
            "build the envelope with the protocol library (canonical MessagePack, integer keys 0..12)"),
        new(RejectReason.MalformedPayload, StatusCode.InvalidArgument, "malformed-payload",
            "encode the update with TensorCodec of the same protocol version"),
        new(RejectReason.BadSignature, StatusCode.Unauthenticated, "bad-signature",
            "sign with the private key whose public key you joined with, over the domain-separated bytes"),
        new(RejectReason.BadChallenge, StatusCode.Unauthenticated, "bad-challenge",
            "call GetChallenge with your public key and sign the nonce it returns, once"),
        new(RejectReason.ExpiredChallenge, StatusCode.Unauthenticated, "expired-challenge",
            "call GetChallenge again and join before the new nonce expires"),
        new(RejectReason.BadAdmissionToken, StatusCode.PermissionDenied, "bad-admission-token",
            "pass the admission token the coordinator's operator gave you"),
        new(RejectReason.InvalidSession, StatusCode.Unauthenticated, "invalid-session",
            "join again to get a new session token"),
        new(RejectReason.UnknownVolunteer, StatusCode.Unauthenticated, "unknown-volunteer",
            "join before requesting work or submitting updates"),
        new(RejectReason.Banned, StatusCode.PermissionDenied, "banned",
            "this key is banned; ask the coordinator's operator, who keeps the signed evidence"),
        new(RejectReason.VolunteerMismatch, StatusCode.PermissionDenied, "volunteer-mismatch",
            "sign envelopes with the same key the session joined with"),
        new(RejectReason.UnleasedWorkUnit, StatusCode.FailedPrecondition, "unleased-work-unit",
            "submit only work units that RequestWork leased to you"),
        new(RejectReason.ExpiredLease, StatusCode.FailedPrecondition, "expired-lease",
            "request new work; the unit was reissued after its deadline (heartbeat to keep a lease)"),
        new(RejectReason.Replay, StatusCode.AlreadyExists, "replay",
            "nothing to do: an update for this work unit was already accepted"),
        new(RejectReason.StaleRound, StatusCode.FailedPrecondition, "stale-round",
            "request new work for the current round"),
        new(RejectReason.StaleVersion, StatusCode.FailedPrecondition, "stale-version",
            "download the current model version and request new work"),
        new(RejectReason.WrongShard, StatusCode.InvalidArgument, "wrong-shard",
            "sign the shard exactly as the work unit listed it"),
        new(RejectReason.WrongCodec, StatusCode.InvalidArgument, "wrong-codec",
            "encode the update with the codec the work unit names"),
        new(RejectReason.WrongTensorNames, StatusCode.InvalidArgument, "wrong-tensor-names",
            "send exactly the tensors of the leased shard"),
        new(RejectReason.WrongShape, StatusCode.InvalidArgument, "wrong-shape",
            "send tensors with the shapes of the downloaded parameters"),
        new(RejectReason.NonFinite, StatusCode.InvalidArgument, "non-finite",
            "check training for divergence (lower the learning rate, enable clipping); NaN or Inf is never accepted"),
        new(RejectReason.NormTooLarge, StatusCode.InvalidArgument, "norm-too-large",
            "check training for divergence; the update's norm exceeds the coordinator's bound"),
        new(RejectReason.Oversized, StatusCode.ResourceExhausted, "oversized",
            "stay within the limits announced in JoinReply and send exactly the declared payload length"),
        new(RejectReason.TruncatedStream, StatusCode.Aborted, "truncated-stream",
            "resend the whole update; the stream ended before the declared payload length"),
        new(RejectReason.HashMismatch, StatusCode.DataLoss, "hash-mismatch",
            "resend the update; sign the SHA-256 of exactly the bytes you stream"),
        new(RejectReason.RateLimited, StatusCode.ResourceExhausted, "rate-limited",
            "retry later with exponential backoff and jitter"),
        new(RejectReason.Unavailable, StatusCode.Unavailable, "unavailable",
            "retry later with exponential backoff and jitter"),
        new(RejectReason.WrongTokenCount, StatusCode.InvalidArgument, "wrong-token-count",
            "sign the unit's token count (inner_steps × batch_size × sequence_length of its hyperparameters)"),
        new(RejectReason.Equivocation, StatusCode.AlreadyExists, "equivocation",
            "resend exactly the bytes of the accepted update (a resend is idempotent); never sign two different updates for one unit"),
        new(RejectReason.SubmitInProgress, StatusCode.Aborted, "submit-in-progress",
            "wait for the reply to the first submission of this unit before sending it again"),
        new(RejectReason.TooSlow, StatusCode.DeadlineExceeded, "too-slow",
            "resend the update on a faster or steadier connection; the coordinator drops silent and very slow streams"),
        new(RejectReason.CoordinatorStorage, StatusCode.Unavailable, "coordinator-storage",
            "keep the trained update and resubmit it with backoff; the coordinator's storage failed (the operator is told)"),
        new(RejectReason.NoProgress, StatusCode.InvalidArgument, "no-progress",
            "train the unit before submitting; an all-zero update is never accepted"),
        new(RejectReason.WrongRun, StatusCode.FailedPrecondition, "wrong-run",
            "join this coordinator again (GetChallenge and JoinReply name its run_id) and sign joins and envelopes with that run_id"),
    ];

    private static readonly FrozenDictionary<RejectReason, RejectReasonInfo> ByReason = Table.ToFrozenDictionary(i => i.Reason);
    private static readonly FrozenDictionary<string, RejectReasonInfo> ByToken = Table.ToFrozenDictionary(i => i.Token, StringComparer.Ordinal);

    public static IReadOnlyList<RejectReasonInfo> All => Table;

    public static RejectReasonInfo Info(this RejectReason reason) =>
        ByReason.TryGetValue(reason, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(reason), reason, "not a defined RejectReason.");

    public static StatusCode ToStatusCode(this RejectReason reason) => reason.Info().Status;

    /// <summary>The stable kebab-case token sent in the <c>hivemind-reason</c> trailer.</summary>
    public static string Token(this RejectReason reason) => reason.Info().Token;

    public static bool TryParseToken(string? token, out RejectReason reason)
    {
        if (token is not null && ByToken.TryGetValue(token, out var info))
        {
            reason = info.Reason;
            return true;
        }
        reason = default;
        return false;
    }

    /// <summary>The human-readable status message: the offending value (in <paramref name="detail"/>) and the fix.</summary>
    public static string Message(RejectReason reason, string detail) => $"{reason.Token()}: {detail}; fix: {reason.Info().Fix}.";

    /// <summary>The exception a gRPC service throws: status from the table, message naming value and fix, reason in the trailers.</summary>
    public static RpcException ToRpcException(RejectReason reason, string detail, TimeSpan? retryAfter = null)
    {
        var info = reason.Info();
        var trailers = new Metadata { { TrailerKey, info.Token } };
        if (retryAfter is { } wait)
            trailers.Add(RetryAfterTrailerKey, ((long)Math.Ceiling(Math.Max(0, wait.TotalMilliseconds))).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new RpcException(new Status(info.Status, Message(reason, detail)), trailers);
    }

    public static RpcException ToRpcException(this ProtocolException exception) => ToRpcException(exception.Reason, exception.Detail, exception.RetryAfter);

    /// <summary>The coordinator's advice on when to retry (the <c>hivemind-retry-after-ms</c> trailer), or null when it gave none or a malformed one.</summary>
    public static TimeSpan? RetryAfter(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return long.TryParse(exception.Trailers.GetValue(RetryAfterTrailerKey), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ms)
            ? TimeSpan.FromMilliseconds(ms)
            : null;
    }

    /// <summary>Reads the reason a coordinator gave; false for errors that did not come from a rejection (network, internal).</summary>
    public static bool TryGetReason(RpcException exception, out RejectReason reason)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return TryParseToken(exception.Trailers.GetValue(TrailerKey), out reason);
    }
}
