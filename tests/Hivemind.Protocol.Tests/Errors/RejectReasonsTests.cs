using Grpc.Core;
using Hivemind.Protocol.Errors;

namespace Hivemind.Protocol.Tests.Errors;

/// <summary>Every reject reason has its own token and status, survives a round trip through an RpcException, and the message names value and fix.</summary>
public sealed class RejectReasonsTests
{
    public static TheoryData<RejectReason, StatusCode> Expected() => new()
    {
        { RejectReason.ProtocolMismatch, StatusCode.FailedPrecondition },
        { RejectReason.MalformedRequest, StatusCode.InvalidArgument },
        { RejectReason.MalformedEnvelope, StatusCode.InvalidArgument },
        { RejectReason.MalformedPayload, StatusCode.InvalidArgument },
        { RejectReason.BadSignature, StatusCode.Unauthenticated },
        { RejectReason.BadChallenge, StatusCode.Unauthenticated },
        { RejectReason.ExpiredChallenge, StatusCode.Unauthenticated },
        { RejectReason.BadAdmissionToken, StatusCode.PermissionDenied },
        { RejectReason.InvalidSession, StatusCode.Unauthenticated },
        { RejectReason.UnknownVolunteer, StatusCode.Unauthenticated },
        { RejectReason.Banned, StatusCode.PermissionDenied },
        { RejectReason.VolunteerMismatch, StatusCode.PermissionDenied },
        { RejectReason.UnleasedWorkUnit, StatusCode.FailedPrecondition },
        { RejectReason.ExpiredLease, StatusCode.FailedPrecondition },
        { RejectReason.Replay, StatusCode.AlreadyExists },
        { RejectReason.StaleRound, StatusCode.FailedPrecondition },
        { RejectReason.StaleVersion, StatusCode.FailedPrecondition },
        { RejectReason.WrongShard, StatusCode.InvalidArgument },
        { RejectReason.WrongCodec, StatusCode.InvalidArgument },
        { RejectReason.WrongTensorNames, StatusCode.InvalidArgument },
        { RejectReason.WrongShape, StatusCode.InvalidArgument },
        { RejectReason.NonFinite, StatusCode.InvalidArgument },
        { RejectReason.NormTooLarge, StatusCode.InvalidArgument },
        { RejectReason.Oversized, StatusCode.ResourceExhausted },
        { RejectReason.TruncatedStream, StatusCode.Aborted },
        { RejectReason.HashMismatch, StatusCode.DataLoss },
        { RejectReason.RateLimited, StatusCode.ResourceExhausted },
        { RejectReason.Unavailable, StatusCode.Unavailable },
        { RejectReason.WrongTokenCount, StatusCode.InvalidArgument },
        { RejectReason.Equivocation, StatusCode.AlreadyExists },
        { RejectReason.SubmitInProgress, StatusCode.Aborted },
        { RejectReason.TooSlow, StatusCode.DeadlineExceeded },
        { RejectReason.CoordinatorStorage, StatusCode.Unavailable },
        { RejectReason.NoProgress, StatusCode.InvalidArgument },
        { RejectReason.WrongRun, StatusCode.FailedPrecondition },
    };

    [Theory]
    [MemberData(nameof(Expected))]
    public void EachReasonMapsToItsStatusAndRoundTrips(RejectReason reason, StatusCode status)
    {
        Assert.Equal(status, reason.ToStatusCode());
        var exception = RejectReasons.ToRpcException(reason, "value 42 is wrong");
        Assert.Equal(status, exception.StatusCode);
        Assert.Equal(reason.Token(), exception.Trailers.GetValue(RejectReasons.TrailerKey));
        Assert.StartsWith(reason.Token() + ": value 42 is wrong; fix: ", exception.Status.Detail);
        Assert.True(RejectReasons.TryGetReason(exception, out var back));
        Assert.Equal(reason, back);
    }

    [Fact]
    public void TableCoversEveryReasonWithUniqueKebabTokens()
    {
        var reasons = Enum.GetValues<RejectReason>();
        Assert.Equal(reasons.Length, Expected().Count);
        Assert.Equal(reasons.Order(), RejectReasons.All.Select(i => i.Reason).Order());
        Assert.Equal(reasons.Length, RejectReasons.All.Select(i => i.Token).Distinct(StringComparer.Ordinal).Count());
        Assert.All(RejectReasons.All, i => Assert.Matches("^[a-z]+(-[a-z]+)*$", i.Token));
        Assert.All(RejectReasons.All, i => Assert.False(string.IsNullOrWhiteSpace(i.Fix)));
    }

    [Fact]
    public void ErrorsWithoutTheTrailerHaveNoReason()
    {
        Assert.False(RejectReasons.TryGetReason(new RpcException(new Status(StatusCode.Unavailable, "connection refused")), out _));
        var unknown = new RpcException(new Status(StatusCode.Internal, "x"), new Metadata { { RejectReasons.TrailerKey, "from-the-future" } });
        Assert.False(RejectReasons.TryGetReason(unknown, out _));
    }

    [Fact]
    public void ProtocolExceptionConvertsWithItsDetail()
    {
        var e = new ProtocolException(RejectReason.StaleRound, "update is for round 6, the current round is 7");
        var rpc = e.ToRpcException();
        Assert.Equal(StatusCode.FailedPrecondition, rpc.StatusCode);
        Assert.Contains("round 6", rpc.Status.Detail);
        Assert.Contains("request new work", rpc.Status.Detail);
    }

    [Fact]
    public void UnsupportedProtocolVersionIsToldWithBothVersions()
    {
        ProtocolVersion.EnsureSupported(ProtocolVersion.Current);
        var e = Assert.Throws<RpcException>(() => ProtocolVersion.EnsureSupported(ProtocolVersion.Current + 1));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains($"client protocol version {ProtocolVersion.Current + 1}", e.Status.Detail);
        Assert.Contains("upgrade", e.Status.Detail);
        Assert.True(RejectReasons.TryGetReason(e, out var reason));
        Assert.Equal(RejectReason.ProtocolMismatch, reason);
        var missing = Assert.Throws<RpcException>(() => ProtocolVersion.EnsureSupported(0));
        Assert.Contains("no protocol_version", missing.Status.Detail);
    }
}
