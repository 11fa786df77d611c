using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Reachability;
using Hivemind.Coordinator.Relays;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Relay;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Hivemind.Adversarial.Tests.Infrastructure.RelayListing;

namespace Hivemind.Adversarial.Tests;

/// <summary>
/// Issue 17: relays are listed only for keys that run them at the address they registered from, and nothing a relay sends is
/// trusted. Every test goes through real gRPC on 127.0.0.1: a real coordinator, real relays (honest or lying) and real volunteers.
/// </summary>
public sealed class RelayTests
{
    [Theory]
    [InlineData(RelayLie.WrongBytes, "hash-mismatch")]
    [InlineData(RelayLie.WrongHash, "hash-mismatch")]
    [InlineData(RelayLie.Truncated, "truncated-stream")]
    public async Task ALyingRelayIsDetectedAndTheVolunteerTrainsOnTheCoordinatorsBytes(RelayLie lie, string reason)
    {
        await using var c = await StartCoordinatorAsync(4);
        await using var attacker = new Attacker(c);
        await using var relay = (await StartHostileRelayAsync(c, attacker, lie)).Relay;
        var owned = new List<IDisposable>();
        using var fetcher = new RelayFetcher(new Uri(c.Address));
        var (client, view) = TestVolunteer.Create(c.Address, Path.Combine(c.Scratch, "honest"), owned, maxUnits: 1, relayFetcher: fetcher);
        try
        {
            long sentBefore = c.Engine.BytesSent;
            Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

            Assert.True(relay.Requests >= 1, "the coordinator never listed the relay, so nothing was attacked");
            Assert.Single(view.Accepted);
            Assert.Contains(view.Waits, w => w.Contains($"relay 127.0.0.1:{relay.Port} sent bad data ({reason}", StringComparison.Ordinal));
            Assert.Equal(["download (compressed)", "upload"], view.Transfers.Select(t => t.What));
            // The volunteer fell back: the coordinator sent it the whole payload (compressed, issue 16).
            Assert.Equal(Hivemind.Protocol.Tensors.Fp32ShuffleZstd.Encode(relay.Payload).Length, c.Engine.BytesSent - sentBefore);
            Assert.Empty(view.Errors);
        }
        finally
        {
            owned.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task ASilentRelayIsGivenUpAfterTheIdleTimeoutAndTheVolunteerFallsBack()
    {
        await using var c = await StartCoordinatorAsync(4);
        await using var attacker = new Attacker(c);
        await using var relay = (await StartHostileRelayAsync(c, attacker, RelayLie.Silent)).Relay;
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var owned = new List<IDisposable>();
        using var fetcher = new RelayFetcher(new Uri(c.Address), clock);
        var (client, view) = TestVolunteer.Create(c.Address, Path.Combine(c.Scratch, "honest"), owned, maxUnits: 1, relayFetcher: fetcher);
        try
        {
            var run = client.RunAsync(CancellationToken.None);
            await relay.Asked.WaitAsync(Bound);
            Assert.False(run.IsCompleted);
            // The fetcher's timers run on the fake clock: the relay has been silent for the whole idle timeout.
            clock.Advance(fetcher.IdleTimeout + TimeSpan.FromSeconds(1));
            Assert.Equal(ExitCodes.Ok, await run.WaitAsync(Bound));

            Assert.Single(view.Accepted);
            Assert.Contains(view.Waits, w => w.Contains($"relay 127.0.0.1:{relay.Port} was silent", StringComparison.Ordinal));
            Assert.Equal(["download (compressed)", "upload"], view.Transfers.Select(t => t.What));
        }
        finally
        {
            owned.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task AnHonestRelayServesTheNextVolunteerAndTheCoordinatorSendsTheParametersOnce()
    {
        await using var c = await StartCoordinatorAsync(4);
        var owned = new List<IDisposable>();
        var relayIdentity = VolunteerIdentity.Create();
        await using var server = await RelayServer.StartAsync(new RelayOptions(0, IPAddress.Loopback), relayIdentity, TimeProvider.System);
        using var channel = GrpcChannel.ForAddress(c.Address);
        var node = new RelayNode(server, new RelayOptions(0, IPAddress.Loopback), new Reachability.ReachabilityClient(channel), new RelayRegistry.RelayRegistryClient(channel));
        using var relayFetcher = new RelayFetcher(new Uri(c.Address));
        using var fetcher = new RelayFetcher(new Uri(c.Address));
        var (relayClient, relayView) = TestVolunteer.Create(c.Address, Path.Combine(c.Scratch, "relay"), owned, relayFetcher: relayFetcher, relay: node, identity: relayIdentity);
        var (client, view) = TestVolunteer.Create(c.Address, Path.Combine(c.Scratch, "plain"), owned, maxUnits: 1, relayFetcher: fetcher);
        using var stop = new CancellationTokenSource();
        try
        {
            var relayRun = relayClient.RunAsync(stop.Token);
            await relayView.Downloaded.WaitAsync(Bound);
            Assert.NotNull(node.Advertised);
            long sent = c.Engine.BytesSent;

            Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

            Assert.Single(view.Accepted);
            Assert.Equal([$"download from relay {node.Advertised}", "upload"], view.Transfers.Select(t => t.What));
            Assert.Equal(sent, c.Engine.BytesSent);
            Assert.True(server.Service.BytesServed > 0);
            await stop.CancelAsync();
            await relayRun.WaitAsync(Bound);
        }
        finally
        {
            owned.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task AKeyCannotRegisterARelayThatAnotherKeyRuns()
    {
        await using var c = await StartCoordinatorAsync(4);
        await using var attacker = new Attacker(c);
        var victim = attacker.NewIdentity();
        await using var victimsRelay = await RelayServer.StartAsync(new RelayOptions(0, IPAddress.Loopback), victim, TimeProvider.System);
        var thief = await attacker.JoinAsync();
        using var channel = GrpcChannel.ForAddress(c.Address);

        // The dial-back succeeds (something listens there), but the relay there signs with the victim's key.
        var check = await new Reachability.ReachabilityClient(channel).CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = ProtocolVersion.Current, Port = (uint)victimsRelay.Port });
        Assert.True(check.Reachable, check.Advice);
        var e = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(channel, thief.Session, victimsRelay.Port));

        Assert.Equal(RejectReason.VolunteerMismatch, Reason(e));
        Assert.Equal(0, c.Services.GetRequiredService<RelayDirectory>().Count);
        Assert.Empty((await attacker.AskAsync(await attacker.JoinAsync())).Relays);
    }

    [Fact]
    public async Task AnAddressThatDoesNotSpeakTheRelayProtocolIsNeverListed()
    {
        await using var c = await StartCoordinatorAsync(4);
        await using var attacker = new Attacker(c);
        var key = await attacker.JoinAsync();
        using var channel = GrpcChannel.ForAddress(c.Address);
        int coordinatorPort = new Uri(c.Address).Port;

        // Any service that accepts TCP passes the dial-back: here the coordinator's own port.
        var check = await new Reachability.ReachabilityClient(channel).CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = ProtocolVersion.Current, Port = (uint)coordinatorPort });
        Assert.True(check.Reachable, check.Advice);
        var e = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(channel, key.Session, coordinatorPort));

        Assert.Equal(RejectReason.MalformedRequest, Reason(e));
        Assert.Contains("did not answer as a Hivemind relay", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, c.Services.GetRequiredService<RelayDirectory>().Count);
    }

    [Fact]
    public async Task RegistrationNeedsARecentDialBackToThatExactPort()
    {
        await using var c = await StartCoordinatorAsync(4);
        await using var attacker = new Attacker(c);
        var identity = attacker.NewIdentity();
        var key = await attacker.JoinAsync(identity: identity);
        await using var relay = await RelayServer.StartAsync(new RelayOptions(0, IPAddress.Loopback), identity, TimeProvider.System);
        await using var other = await RelayServer.StartAsync(new RelayOptions(0, IPAddress.Loopback), identity, TimeProvider.System);
        using var channel = GrpcChannel.ForAddress(c.Address);

        var none = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(channel, key.Session, relay.Port));
        Assert.Equal(RejectReason.MalformedRequest, Reason(none));
        Assert.Contains("CheckReachable", none.Status.Detail, StringComparison.Ordinal);

        // A check of another port does not count for this one.
        await new Reachability.ReachabilityClient(channel).CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = ProtocolVersion.Current, Port = (uint)other.Port });
        var wrongPort = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(channel, key.Session, relay.Port));
        Assert.Equal(RejectReason.MalformedRequest, Reason(wrongPort));

        // Nor can a session that is not the relay's own register it.
        var forged = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(channel, "0123456789abcdef", other.Port));
        Assert.Equal(RejectReason.InvalidSession, Reason(forged));

        var reply = await RegisterAsync(channel, key.Session, other.Port);
        Assert.Equal($"127.0.0.1:{other.Port}", reply.Advertised);
        Assert.Equal(1, c.Services.GetRequiredService<RelayDirectory>().Count);
    }

    [Fact]
    public async Task ARelayIsListedOnlyWhileItsSessionLivesAndOnlyToVolunteersLeasedAfterIt()
    {
        await using var c = await StartCoordinatorAsync(4);
        await using var attacker = new Attacker(c);
        var identity = attacker.NewIdentity();
        var relayKey = await attacker.JoinAsync(identity: identity);
        await using var relay = await RelayServer.StartAsync(new RelayOptions(0, IPAddress.Loopback), identity, TimeProvider.System);
        using var channel = GrpcChannel.ForAddress(c.Address);
        await new Reachability.ReachabilityClient(channel).CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = ProtocolVersion.Current, Port = (uint)relay.Port });
        await RegisterAsync(channel, relayKey.Session, relay.Port);

        // Leased first, the relay itself is told of no relay; the next volunteer is told of it.
        Assert.Empty((await attacker.AskAsync(relayKey)).Relays);
        var next = await attacker.AskAsync(await attacker.JoinAsync());
        Assert.Equal([$"127.0.0.1:{relay.Port}"], next.Relays);

        await attacker.Client.LeaveAsync(new LeaveRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = relayKey.Session });
        Assert.Equal(0, c.Services.GetRequiredService<RelayDirectory>().Count);
    }


    private static RejectReason Reason(RpcException e)
    {
        Assert.True(RejectReasons.TryGetReason(e, out var reason), $"no hivemind-reason trailer on {e.Status}");
        return reason;
    }
}
