using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 7: sessions and leases behave as the .proto says; free text from volunteers is bounded and sanitised.</summary>
public sealed class SessionAndLeaseTests
{
    private static Func<Coordinator.CoordinatorOptions, Coordinator.CoordinatorOptions> Clock => o => o with
    {
        HeartbeatInterval = TimeSpan.FromSeconds(15),
        LeaseDuration = TimeSpan.FromSeconds(60),
        MaxLeaseDuration = TimeSpan.FromSeconds(300),
    };

    [Fact]
    public async Task ASilentSessionExpiresAndANewJoinEndsThePreviousOne()
    {
        var (c, attacker, time) = await Crowd.StartAsync(Clock);
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            time.Advance(TimeSpan.FromSeconds(3 * 15 + 1));
            var expired = await Assert.ThrowsAsync<RpcException>(() => attacker.AskAsync(key));
            Assert.Equal(RejectReason.InvalidSession, Attacker.ReasonOf(expired));

            var first = await attacker.JoinAsync(identity: key.Identity);
            var second = await attacker.JoinAsync(identity: key.Identity);
            var stale = await Assert.ThrowsAsync<RpcException>(() => attacker.AskAsync(first));
            Assert.Equal(RejectReason.InvalidSession, Attacker.ReasonOf(stale));
            Assert.Equal(WorkReply.ResultOneofCase.WorkUnit, (await attacker.AskAsync(second)).ResultCase);

            // Only a hash of the token is stored (the database and its write-ahead log).
            var stored = Directory.EnumerateFiles(c.Engine.Options.DataDirectory, "coordinator.db*").SelectMany(File.ReadAllBytes).ToArray();
            Assert.Equal(-1, stored.AsSpan().IndexOf(Encoding.ASCII.GetBytes(second.Session)));
        }
    }

    [Fact]
    public async Task HeartbeatsKeepALeaseAliveUpToItsBoundAndASilentOneExpires()
    {
        var (c, attacker, time) = await Crowd.StartAsync(Clock);
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var update = await attacker.TrainAsync(key, unit);
            for (int beat = 0; beat < 8; beat++) // 120 s of training, twice the lease duration
            {
                time.Advance(TimeSpan.FromSeconds(15));
                var reply = await attacker.Client.HeartbeatAsync(new HeartbeatRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = key.Session, WorkUnitId = unit.WorkUnitId });
                Assert.True(reply.LeaseValid, $"the lease lapsed at heartbeat {beat} although the volunteer kept beating");
            }
            Assert.True((await attacker.SendAsync(key, update.Envelope, [update.Payload])).Accepted);

            // Past the bound, heartbeats no longer help.
            var other = await attacker.JoinAsync();
            var bounded = await attacker.LeaseAsync(other);
            HeartbeatReply last = new();
            for (int beat = 0; beat < 25; beat++)
            {
                time.Advance(TimeSpan.FromSeconds(15));
                last = await attacker.Client.HeartbeatAsync(new HeartbeatRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = other.Session, WorkUnitId = bounded.WorkUnitId });
            }
            Assert.False(last.LeaseValid);
        }
    }

    [Fact]
    public async Task DownloadsNeedALiveLeaseAndAreBounded()
    {
        // A session that outlives the lease, so that the download meets the lapsed lease and not an expired session.
        var (c, attacker, time) = await Crowd.StartAsync(o => Clock(o) with { HeartbeatInterval = TimeSpan.FromSeconds(40) });
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var request = new DownloadRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = key.Session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId };
            for (int i = 0; i < c.Engine.Options.MaxDownloadsPerLease; i++)
            {
                using var ok = attacker.Client.DownloadParameters(request);
                await DownloadStream.ReadAsync(ok.ResponseStream, ProtocolLimits.Default, CancellationToken.None);
            }
            using (var more = attacker.Client.DownloadParameters(request))
            {
                var e = await Assert.ThrowsAsync<RpcException>(() => DownloadStream.ReadAsync(more.ResponseStream, ProtocolLimits.Default, CancellationToken.None));
                Assert.Equal(RejectReason.RateLimited, Attacker.ReasonOf(e));
            }
            var second = await attacker.JoinAsync();
            var secondUnit = await attacker.LeaseAsync(second);
            time.Advance(TimeSpan.FromSeconds(61)); // no heartbeat: the lease lapses
            using var late = attacker.Client.DownloadParameters(new DownloadRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = second.Session, ModelVersion = secondUnit.ModelVersion, WorkUnitId = secondUnit.WorkUnitId });
            var expired = await Assert.ThrowsAsync<RpcException>(() => DownloadStream.ReadAsync(late.ResponseStream, ProtocolLimits.Default, CancellationToken.None));
            Assert.Equal(RejectReason.ExpiredLease, Attacker.ReasonOf(expired));
        }
    }

    [Fact]
    public async Task DeviceAndClientNameAreBoundedAndSanitised()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var huge = await Assert.ThrowsAsync<RpcException>(() => attacker.JoinAsync(device: new string('x', 2 << 20)));
            Assert.Equal(RejectReason.MalformedRequest, Attacker.ReasonOf(huge));
            Assert.Empty(c.Engine.Store.Volunteers());
            var key = await attacker.JoinAsync(device: "cpu\n\u001b[31mFAKE LOG LINE");
            var stored = c.Engine.Store.GetVolunteer(key.Id)!.Device;
            Assert.DoesNotContain('\n', stored);
            Assert.DoesNotContain('\u001b', stored);
            Assert.StartsWith("cpu?", stored);
            await attacker.HonestUnitAsync();
        }
    }
}
