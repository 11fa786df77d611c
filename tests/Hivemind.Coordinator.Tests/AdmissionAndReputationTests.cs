using Hivemind.Coordinator.Admission;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Volunteer.Behaviors;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests;

/// <summary>Who may join, how fast, and how misbehaviour turns into a ban with evidence.</summary>
public sealed class AdmissionAndReputationTests
{
    [Fact]
    public void ClosedAdmissionRefusesAWrongTokenAndAcceptsTheRightOne()
    {
        using var h = new EngineHarness(o => o with { AdmissionToken = "let-me-in" });
        using var identity = VolunteerIdentity.Create();
        var (nonce, _) = h.Engine.IssueChallenge(identity.PublicKey);
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, h.Engine.RunId, nonce, EngineHarness.VolunteerMemory, "cpu", "guess");
        var e = Assert.Throws<ProtocolException>(() => h.Engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, EngineHarness.VolunteerMemory, "cpu", "guess"));
        Assert.Equal(RejectReason.BadAdmissionToken, e.Reason);
        Assert.Empty(h.Engine.Store.Volunteers());

        (nonce, _) = h.Engine.IssueChallenge(identity.PublicKey);
        signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, h.Engine.RunId, nonce, EngineHarness.VolunteerMemory, "cpu", "let-me-in");
        h.Engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, EngineHarness.VolunteerMemory, "cpu", "let-me-in");
        Assert.Single(h.Engine.Store.Volunteers());
    }

    [Fact]
    public void AChallengeIsSingleUseAndExpires()
    {
        using var h = new EngineHarness();
        using var identity = VolunteerIdentity.Create();
        var (nonce, _) = h.Engine.IssueChallenge(identity.PublicKey);
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, h.Engine.RunId, nonce, EngineHarness.VolunteerMemory, "cpu", "");
        h.Engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, EngineHarness.VolunteerMemory, "cpu", "");
        var replay = Assert.Throws<ProtocolException>(() => h.Engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, EngineHarness.VolunteerMemory, "cpu", ""));
        Assert.Equal(RejectReason.BadChallenge, replay.Reason);

        (nonce, _) = h.Engine.IssueChallenge(identity.PublicKey);
        signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, h.Engine.RunId, nonce, EngineHarness.VolunteerMemory, "cpu", "");
        h.Time.Advance(ChallengeBook.Lifetime + TimeSpan.FromSeconds(1));
        var late = Assert.Throws<ProtocolException>(() => h.Engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, EngineHarness.VolunteerMemory, "cpu", ""));
        Assert.Equal(RejectReason.ExpiredChallenge, late.Reason);
    }

    [Fact]
    public void JoinsBeyondTheRateLimitWaitForTheBucketToRefill()
    {
        var time = new FakeTimeProvider();
        var limiter = new JoinRateLimiter(time, perMinute: 2);
        Assert.True(limiter.TryAcquire(out _));
        Assert.True(limiter.TryAcquire(out _));
        Assert.False(limiter.TryAcquire(out var retry));
        Assert.Equal(30, retry.TotalSeconds, precision: 6); // one token every 30 s
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(limiter.TryAcquire(out _));
    }

    [Fact]
    public void TooLittleMemoryIsRefusedWithTheAmountNeeded()
    {
        using var h = new EngineHarness(o => o with { Preset = "small" });
        using var identity = VolunteerIdentity.Create();
        var (nonce, _) = h.Engine.IssueChallenge(identity.PublicKey);
        const long Tiny = 64L << 20;
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, h.Engine.RunId, nonce, Tiny, "cpu", "");
        var e = Assert.Throws<ProtocolException>(() => h.Engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, Tiny, "cpu", ""));
        Assert.Equal(RejectReason.MalformedRequest, e.Reason);
        Assert.Contains("64 MiB", e.Message);
        Assert.Contains("--memory", e.Message);
    }

    [Fact]
    public void RepeatedSignedGarbageBansTheVolunteerAndKeepsTheEvidence()
    {
        using var h = new EngineHarness(o => o with { BanThreshold = -2.5 });
        var v = h.Join();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var e = Assert.Throws<ProtocolException>(() => v.Work(Behavior.Nan));
            Assert.Equal(RejectReason.NonFinite, e.Reason);
        }
        var record = h.Engine.Store.GetVolunteer(v.Id)!;
        Assert.True(record.Banned);
        Assert.Equal(1, h.Engine.Store.EvidenceCount(v.Id));
        var banned = Assert.Throws<ProtocolException>(() => h.Engine.RequestWork(v.Session));
        Assert.Equal(RejectReason.Banned, banned.Reason);
    }
}
