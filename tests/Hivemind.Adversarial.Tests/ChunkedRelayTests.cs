using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Relays;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Relays;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Relay;
using Microsoft.Extensions.DependencyInjection;
using static Hivemind.Adversarial.Tests.Infrastructure.RelayListing;

namespace Hivemind.Adversarial.Tests;

/// <summary>
/// Issue 17, chunked downloads: a volunteer fetches chunks from several relays at once against the manifest the coordinator computes
/// and signs; a relay lying in one chunk costs only that chunk, which comes from another source; the coordinator drops a relay on
/// proof (its own signature over a wrong chunk) and never on one volunteer's word. Real gRPC on 127.0.0.1 throughout.
/// </summary>
public sealed class ChunkedRelayTests
{
    [Fact]
    public async Task ARelayLyingInOneChunkIsCaughtTheChunkComesFromAnotherRelayAndTheLiarIsDropped()
    {
        await using var c = await StartCoordinatorAsync(6);
        await using var attacker = new Attacker(c);
        var honestIdentity = attacker.NewIdentity();
        var (honest, payload) = await StartHonestRelayAsync(c, attacker, honestIdentity);
        await using var honestLifetime = honest;
        var (liar, liarKey) = await StartHostileRelayAsync(c, attacker, RelayLie.BadChunkSigned);
        await using var liarLifetime = liar;

        var owned = new List<IDisposable>();
        using var fetcher = new RelayFetcher(new Uri(c.Address));
        var (client, view) = TestVolunteer.Create(c.Address, Path.Combine(c.Scratch, "honest"), owned, maxUnits: 1, relayFetcher: fetcher, chunkedRelays: true);
        try
        {
            long sentBefore = c.Engine.BytesSent;
            Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

            Assert.True(liar.LiedAbout >= 0, "the lying relay was never asked for a chunk, so nothing was attacked");
            Assert.Single(view.Accepted);
            Assert.Empty(view.Errors);
            Assert.Contains(view.Waits, w => w.StartsWith($"relay 127.0.0.1:{liar.Port} sent bad data (chunk {liar.LiedAbout} ", StringComparison.Ordinal));
            Assert.Contains(view.Waits, w => w.StartsWith($"reported relay 127.0.0.1:{liar.Port}: relay 127.0.0.1:{liar.Port} dropped", StringComparison.Ordinal));
            // Every chunk, the lied-about one included, came from relays: the coordinator sent no parameter byte.
            Assert.Equal(sentBefore, c.Engine.BytesSent);
            Assert.StartsWith("download from relays ", view.Transfers[0].What, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{honest.Port}", view.Transfers[0].What, StringComparison.Ordinal);
            Assert.DoesNotContain("coordinator", view.Transfers[0].What, StringComparison.Ordinal);
            Assert.True(honest.Service.BytesServed >= payload.Length - ChunkManifestBook.ChunkBytes);

            var directory = c.Services.GetRequiredService<RelayDirectory>();
            Assert.NotNull(directory.DroppedBecause(liarKey.Id));
            Assert.Null(directory.DroppedBecause(VolunteerIds.FromPublicKey(honestIdentity.PublicKey)));
            Assert.Equal([$"127.0.0.1:{honest.Port}"], (await attacker.AskAsync(await attacker.JoinAsync())).Relays);
            using var channel = GrpcChannel.ForAddress(c.Address);
            var again = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(channel, liarKey.Session, liar.Port));
            Assert.Equal(RejectReason.Banned, Attacker.ReasonOf(again));
        }
        finally
        {
            owned.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task ChunksComeFromEveryListedRelayAtOnceAndNoneFromTheCoordinator()
    {
        await using var c = await StartCoordinatorAsync(6);
        await using var attacker = new Attacker(c);
        var servers = new List<RelayServer>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                servers.Add((await StartHonestRelayAsync(c, attacker, attacker.NewIdentity())).Server);
            }
            var owned = new List<IDisposable>();
            using var fetcher = new RelayFetcher(new Uri(c.Address));
            var (client, view) = TestVolunteer.Create(c.Address, Path.Combine(c.Scratch, "honest"), owned, maxUnits: 1, relayFetcher: fetcher, chunkedRelays: true);
            try
            {
                long sentBefore = c.Engine.BytesSent;
                Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

                Assert.Single(view.Accepted);
                Assert.Empty(view.Errors);
                Assert.Equal(sentBefore, c.Engine.BytesSent);
                // Chunk i starts at listed relay i mod 2, so with two or more chunks both relays serve part of the one download.
                Assert.All(servers, s => Assert.True(s.Service.BytesServed > 0, $"relay 127.0.0.1:{s.Port} served nothing"));
                Assert.All(servers, s => Assert.Contains($"127.0.0.1:{s.Port}", view.Transfers[0].What, StringComparison.Ordinal));
            }
            finally
            {
                owned.ForEach(d => d.Dispose());
            }
        }
        finally
        {
            foreach (var s in servers) await s.DisposeAsync();
        }
    }

    [Fact]
    public async Task AnUnsignedLieCostsTheLiarOnlyThisDownloadAndCountsOnceForTheReporter()
    {
        await using var c = await StartCoordinatorAsync(6);
        await using var attacker = new Attacker(c);
        var (liar, liarKey) = await StartHostileRelayAsync(c, attacker, RelayLie.BadChunkUnsigned);
        await using var liarLifetime = liar;

        var owned = new List<IDisposable>();
        using var fetcher = new RelayFetcher(new Uri(c.Address));
        var (client, view) = TestVolunteer.Create(c.Address, Path.Combine(c.Scratch, "honest"), owned, maxUnits: 1, relayFetcher: fetcher, chunkedRelays: true);
        try
        {
            long sentBefore = c.Engine.BytesSent;
            Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

            Assert.True(liar.LiedAbout >= 0, "the lying relay was never asked for a chunk");
            Assert.Single(view.Accepted);
            Assert.Empty(view.Errors);
            Assert.Contains(view.Waits, w => w.StartsWith($"relay 127.0.0.1:{liar.Port} sent bad data (chunk {liar.LiedAbout} ", StringComparison.Ordinal));
            Assert.Contains(view.Waits, w => w.Contains("proves nothing; counted once for this volunteer (1 of the 3", StringComparison.Ordinal));
            // The coordinator sent the chunks the liar did not deliver honestly, never more than the payload.
            long fromCoordinator = c.Engine.BytesSent - sentBefore;
            Assert.InRange(fromCoordinator, 1, liar.Payload.Length);
            Assert.Null(c.Services.GetRequiredService<RelayDirectory>().DroppedBecause(liarKey.Id));
        }
        finally
        {
            owned.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task OneLyingReporterCannotDropAnHonestRelayButThreeDistinctOnesCan()
    {
        await using var c = await StartCoordinatorAsync(6);
        await using var attacker = new Attacker(c);
        var honestIdentity = attacker.NewIdentity();
        await using var honest = (await StartHonestRelayAsync(c, attacker, honestIdentity)).Server;
        string honestId = VolunteerIds.FromPublicKey(honestIdentity.PublicKey);
        var directory = c.Services.GetRequiredService<RelayDirectory>();
        using var channel = GrpcChannel.ForAddress(c.Address);
        var registry = new RelayRegistry.RelayRegistryClient(channel);
        string relay = $"127.0.0.1:{honest.Port}";

        var reporter = await attacker.JoinAsync();
        var unit = (await attacker.AskAsync(reporter)).WorkUnit;
        var manifest = await registry.GetChunkManifestAsync(new ChunkManifestRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = reporter.Session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId,
        });
        // A genuine chunk and the honest relay's genuine signature on it: the strongest material a liar can hold.
        using var relayChannel = GrpcChannel.ForAddress($"http://{relay}");
        var genuine = await new Protocol.V1.Relay.RelayClient(relayChannel).FetchChunkAsync(new RelayChunkRequest
        {
            ProtocolVersion = ProtocolVersion.Current, ModelVersion = unit.ModelVersion, ContentSha256 = unit.ParametersSha256, ChunkBytes = manifest.ChunkBytes, Index = 0,
        });
        Assert.Equal(manifest.ChunkSha256[0], ByteString.CopyFrom(SHA256.HashData(genuine.Data.Span)));
        var forged = RandomNumberGenerator.GetBytes(32);

        // Its genuine signature does not cover a made-up hash; the true hash is no lie; the reporter's own signature is not the relay's.
        var claims = new[]
        {
            Report(reporter, unit, manifest, relay, forged, genuine.Signature.ToByteArray()),
            Report(reporter, unit, manifest, relay, manifest.ChunkSha256[0].ToByteArray(), genuine.Signature.ToByteArray()),
            Report(reporter, unit, manifest, relay, forged, RelayChunkSignature.Sign(reporter.Identity, unit.ModelVersion, unit.ParametersSha256.Span, (int)manifest.ChunkBytes, 0, forged)),
        };
        for (int repeat = 0; repeat < 3; repeat++)
        {
            foreach (var claim in claims)
            {
                var verdict = await registry.ReportRelayAsync(claim);
                Assert.False(verdict.Proven, verdict.Outcome);
                Assert.False(verdict.Dropped, verdict.Outcome);
            }
        }
        Assert.Null(directory.DroppedBecause(honestId));
        Assert.Equal([relay], (await attacker.AskAsync(await attacker.JoinAsync())).Relays);

        // Unproven claims count once per distinct volunteer: the third distinct reporter drops the relay.
        var second = await attacker.JoinAsync();
        var third = await attacker.JoinAsync();
        Assert.False((await registry.ReportRelayAsync(Report(second, unit, manifest, relay, forged, []))).Dropped);
        Assert.Null(directory.DroppedBecause(honestId));
        var last = await registry.ReportRelayAsync(Report(third, unit, manifest, relay, forged, []));
        Assert.True(last.Dropped, last.Outcome);
        Assert.False(last.Proven);
        Assert.NotNull(directory.DroppedBecause(honestId));
    }

    [Fact]
    public async Task TheCoordinatorSendsChunksOnlyOfALiveLeaseAndAtMostItsAllowance()
    {
        await using var c = await StartCoordinatorAsync(6);
        await using var attacker = new Attacker(c);
        using var channel = GrpcChannel.ForAddress(c.Address);
        var registry = new RelayRegistry.RelayRegistryClient(channel);
        var key = await attacker.JoinAsync();
        var unit = await attacker.LeaseAsync(key);
        var other = await attacker.JoinAsync();
        var manifest = await registry.GetChunkManifestAsync(new ChunkManifestRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = key.Session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId,
        });
        Assert.Equal(c.Engine.Ledger.PublicKey, manifest.CoordinatorKey.ToByteArray());
        var parsed = ChunkManifest.FromParts(manifest.ModelVersion, (long)manifest.TotalBytes, (int)manifest.ChunkBytes, [.. manifest.ChunkSha256.Select(h => h.ToByteArray())],
            manifest.CoordinatorKey.ToByteArray(), manifest.Signature.ToByteArray());
        Assert.True(parsed.VerifySignature(c.Engine.Ledger.PublicKey));
        Assert.True(parsed.ChunkCount >= 2, $"the tiny shard should span several {manifest.ChunkBytes}-byte chunks; it has {parsed.ChunkCount}");

        CoordinatorChunkRequest Chunk(Attacker.Key who, uint index) => new()
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = who.Session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId, Index = index,
        };
        var notLeased = await Assert.ThrowsAsync<RpcException>(() => registry.DownloadChunkAsync(Chunk(other, 0)).ResponseAsync);
        Assert.Equal(RejectReason.UnleasedWorkUnit, Attacker.ReasonOf(notLeased));
        var outOfRange = await Assert.ThrowsAsync<RpcException>(() => registry.DownloadChunkAsync(Chunk(key, (uint)parsed.ChunkCount)).ResponseAsync);
        Assert.Equal(RejectReason.MalformedRequest, Attacker.ReasonOf(outOfRange));

        long sentBefore = c.Engine.BytesSent;
        int allowed = c.Engine.Options.MaxDownloadsPerLease;
        for (int pass = 0; pass < allowed; pass++)
        {
            for (int i = 0; i < parsed.ChunkCount; i++)
                Assert.True(parsed.Matches(i, (await registry.DownloadChunkAsync(Chunk(key, (uint)i))).Data.Span), $"chunk {i} from the coordinator does not match its manifest");
        }
        var over = await Assert.ThrowsAsync<RpcException>(() => registry.DownloadChunkAsync(Chunk(key, 0)).ResponseAsync);
        Assert.Equal(RejectReason.RateLimited, Attacker.ReasonOf(over));
        Assert.Equal(allowed * parsed.TotalBytes, c.Engine.BytesSent - sentBefore);
    }

    private static RelayReportRequest Report(Attacker.Key reporter, Protocol.V1.WorkUnit unit, ChunkManifestReply manifest, string relay, byte[] received, byte[] signature) => new()
    {
        ProtocolVersion = ProtocolVersion.Current, SessionToken = reporter.Session, Relay = relay, ModelVersion = unit.ModelVersion, ContentSha256 = unit.ParametersSha256,
        ChunkBytes = manifest.ChunkBytes, Index = 0, ReceivedSha256 = ByteString.CopyFrom(received), RelaySignature = ByteString.CopyFrom(signature),
    };
}
